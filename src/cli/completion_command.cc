#include "completion_command.h"

#include <fmt/core.h>

#include "cnnviz/error.h"
#include "cnnviz/version.h"
#include "common_options.h"

namespace cnnviz::cli {

CLI::App* add_completion_command(CLI::App& app, CompletionOptions& o) {
  CLI::App* cmd = app.add_subcommand("completion", "Print a shell completion script (bash, zsh, fish) or the man page (man)");
  cmd->add_option("format", o.format, "bash, zsh, fish or man")->required()->check(CLI::IsMember({"bash", "zsh", "fish", "man"}));
  cmd->footer(
      "bash: source <(cnnviz completion bash), or save it as ~/.local/share/bash-completion/completions/cnnviz. "
      "zsh: save as _cnnviz in a folder of $fpath. fish: save as ~/.config/fish/completions/cnnviz.fish. "
      "man: cnnviz completion man > cnnviz.1; man -l cnnviz.1. `cmake --install` installs all four.");
  return cmd;
}

namespace {

struct Flag {
  std::string name;         ///< "--input" or "-o"
  std::string description;
  bool takes_value = false;
};

struct Command {
  std::string name;
  std::string description;
  std::vector<Flag> flags;
  std::vector<std::pair<std::string, std::string>> positionals;  ///< name, description
};

// The definitions, read from CLI11's objects.
std::vector<Command> commands_of(const CLI::App& root) {
  std::vector<Command> out;
  for (const CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; })) {
    Command c{sub->get_name(), sub->get_description(), {}, {}};
    for (const CLI::Option* opt : sub->get_options()) {
      if (opt->get_positional() && !opt->nonpositional()) {
        c.positionals.emplace_back(opt->get_name(true), opt->get_description());
        continue;
      }
      const bool value = opt->get_expected_max() != 0;
      for (const auto& l : opt->get_lnames()) c.flags.push_back({"--" + l, opt->get_description(), value});
      for (const auto& s : opt->get_snames()) c.flags.push_back({"-" + s, opt->get_description(), value});
    }
    out.push_back(std::move(c));
  }
  return out;
}

// The first sentence of a help text, on one line, without the characters a shell word quotes.
std::string short_text(const std::string& text, const std::string& drop) {
  std::string out;
  for (char c : text.substr(0, text.find(". "))) {
    if (c == '\n') c = ' ';
    if (drop.find(c) == std::string::npos) out += c;
  }
  return out.size() > 120 ? out.substr(0, 117) + "..." : out;
}

std::string bash_script(const std::vector<Command>& commands) {
  std::string names = "--help --version";
  for (const auto& c : commands) names += " " + c.name;
  std::string out = "# bash completion for cnnviz (cnnviz completion bash; generated from its own options)\n_cnnviz() {\n"
                    "  local cur=${COMP_WORDS[COMP_CWORD]} opts\n"
                    "  if ((COMP_CWORD == 1)); then\n    mapfile -t COMPREPLY < <(compgen -W '" + names + "' -- \"$cur\")\n    return\n  fi\n"
                    "  case ${COMP_WORDS[1]} in\n";
  for (const auto& c : commands) {
    std::string flags = "--help";
    for (const auto& f : c.flags) flags += " " + f.name;
    out += "    " + c.name + ") opts='" + flags + "' ;;\n";
  }
  out += "    *) opts='--help' ;;\n  esac\n"
         "  if [[ $cur == -* ]]; then\n    mapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")\n"
         "  else\n    mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n  fi\n}\n"
         "complete -o filenames -o bashdefault -F _cnnviz cnnviz\n";
  return out;
}

std::string zsh_script(const std::vector<Command>& commands) {
  std::string out = "#compdef cnnviz\n# zsh completion for cnnviz (cnnviz completion zsh; generated from its own options)\n_cnnviz() {\n"
                    "  local -a commands\n  commands=(\n";
  for (const auto& c : commands) out += "    '" + c.name + ":" + short_text(c.description, "'[]:\\") + "'\n";
  out += "  )\n  if (( CURRENT == 2 )); then\n    _describe -t commands 'cnnviz command' commands\n    return\n  fi\n"
         "  local cmd=$words[2]\n  shift words\n  (( CURRENT-- ))\n  case $cmd in\n";
  for (const auto& c : commands) {
    out += "    " + c.name + ")\n      _arguments -s \\\n";
    for (const auto& f : c.flags) {
      out += "        '" + f.name + "[" + short_text(f.description, "'[]:\\") + "]" + (f.takes_value ? ":value:_files" : "") + "' \\\n";
    }
    out += "        '*:file:_files' ;;\n";
  }
  out += "  esac\n}\n_cnnviz \"$@\"\n";
  return out;
}

std::string fish_script(const std::vector<Command>& commands) {
  std::string out = "# fish completion for cnnviz (cnnviz completion fish; generated from its own options)\n";
  for (const auto& c : commands) {
    out += "complete -c cnnviz -f -n __fish_use_subcommand -a " + c.name + " -d '" + short_text(c.description, "'\\") + "'\n";
  }
  for (const auto& c : commands) {
    for (const auto& f : c.flags) {
      const bool is_long = f.name.rfind("--", 0) == 0;
      out += "complete -c cnnviz -n '__fish_seen_subcommand_from " + c.name + "' " + (is_long ? "-l " + f.name.substr(2) : "-s " + f.name.substr(1)) +
             (f.takes_value ? " -r" : "") + " -d '" + short_text(f.description, "'\\") + "'\n";
    }
  }
  return out;
}

// roff text: backslashes and hyphens escaped, no line starting with a control character.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string man_page(const CLI::App& root, const std::vector<Command>& commands) {
  std::string what = root.get_description();
  if (what.rfind("cnnviz: ", 0) == 0) what = what.substr(8);
  std::string out = ".TH CNNVIZ 1 \"\" \"cnnviz " + cnnviz_version() + "\" \"User Commands\"\n.SH NAME\ncnnviz \\- " + roff(what) +
                    "\n.SH SYNOPSIS\n.B cnnviz\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]\n.br\n.B cnnviz\n\\-\\-help | \\-\\-version\n"
                    ".SH DESCRIPTION\nA model file (.pt TorchScript, or a .pt2 torch.export program) is read through LibTorch; a .pt file is "
                    "code, which cnnviz runs: only open models you would run. Each command's options follow; "
                    "\\fBcnnviz\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR prints the same, and docs/cli.md explains every figure.\n.SH COMMANDS\n";
  for (const auto& c : commands) {
    out += ".SS " + c.name + "\n" + roff(c.description) + "\n";
    for (const auto& [name, description] : c.positionals) out += ".TP\n.I " + roff(name) + "\n" + roff(description) + "\n";
    for (const auto& f : c.flags) out += ".TP\n.B " + roff(f.name) + (f.takes_value ? " \\fIVALUE\\fR" : "") + "\n" + roff(f.description) + "\n";
  }
  out += ".SH EXIT STATUS\n.TP\n.B 0\nsuccess\n";
  for (const auto& k : error_kinds()) out += ".TP\n.B " + std::to_string(k.exit_code) + "\n" + roff(k.summary) + "\n";
  out += ".SH SEE ALSO\nThe documentation in docs/ of cnnviz's source (cli.md, report.md, json\\-schema.md, security.md).\n";
  return out;
}

}  // namespace

void run_completion_command(const CLI::App& root, const CompletionOptions& o) {
  const std::vector<Command> commands = commands_of(root);
  if (o.format == "bash") write_stdout(bash_script(commands));
  else if (o.format == "zsh") write_stdout(zsh_script(commands));
  else if (o.format == "fish") write_stdout(fish_script(commands));
  else write_stdout(man_page(root, commands));
}

}  // namespace cnnviz::cli
