// Stands in front of LibTorch's header of the same name for the units of cnnviz_plain (CMakeLists.txt):
// every LibTorch header includes it, so a LibTorch include there stops the build here.
#error "this cnnviz unit must not include LibTorch: move the code to a unit of cnnviz_core (see CMakeLists.txt)"
