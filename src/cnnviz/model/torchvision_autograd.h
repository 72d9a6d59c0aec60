#pragma once
// Private to libcnnviz: the derivative of torchvision's roi_align for C++ processes.
//
// torchvision 0.14 (Debian 12) registers the derivatives of its operators in its C++ library; newer
// ones (0.27 in Debian sid) register them from Python (torchvision/_autograd_registrations.py), so a
// C++ program that loads their library can run roi_align but not differentiate through it: autograd
// falls back to "not implemented" and the gradient of every detection score with respect to the
// backbone is silently zero. This registers, once, what that Python file registers for roi_align
// (Faster R-CNN's and Mask R-CNN's MultiScaleRoIAlign): its backward is torchvision's own
// torchvision::_roi_align_backward operator.

namespace cnnviz {

/// When torchvision::roi_align and torchvision::_roi_align_backward are registered and roi_align has
/// no autograd kernel, registers one. Cheap and idempotent: called after every model load.
void add_missing_torchvision_autograd();

}  // namespace cnnviz
