# cmake -DCNNVIZ=<binary> -DOUT=<dir> -P GenerateShellFiles.cmake: the man page and the shell completions,
# written by the built binary from its own option definitions (`cnnviz completion FORMAT`).
foreach(item "man;man/man1/cnnviz.1" "bash;bash-completion/completions/cnnviz" "zsh;zsh/vendor-completions/_cnnviz"
             "fish;fish/vendor_completions.d/cnnviz.fish")
  list(GET item 0 format)
  list(GET item 1 file)
  get_filename_component(dir "${OUT}/${file}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  execute_process(COMMAND "${CNNVIZ}" completion ${format} OUTPUT_FILE "${OUT}/${file}" ERROR_QUIET RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cnnviz completion ${format} failed (${rc})")
  endif()
endforeach()
