// Solutions to the exercises of notebooks/17-grad-cam-and-integrated-gradients.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the Grad-CAM maps (N x h x w) from feature maps and their gradients (both N x K x h x w).
Tensor MyGradCam(Tensor activations, Tensor gradients)
{
    var weights = gradients.mean([2, 3], keepdim: true);   // α: one weight per image and channel, N x K x 1 x 1
    return (weights * activations).sum(1).relu();
}
#endregion

#region Exercise 1: mistake
// Forgets the ReLU: keeps the evidence against the class as negative values.
Tensor MyGradCam(Tensor activations, Tensor gradients)
{
    var weights = gradients.mean([2, 3], keepdim: true);
    return (weights * activations).sum(1);
}
#endregion

#region Exercise 2: solution
// Exercise 2: Integrated Gradients (1 x C x H x W) of one image from a baseline, as a Riemann sum of `steps` gradients.
Tensor MyIntegratedGradients(Func<Tensor, Tensor> gradientAt, Tensor image, Tensor baseline, int steps)
{
    var alphas = ((arange(steps).to_type(ScalarType.Float32) + 0.5f) / steps).reshape(-1, 1, 1, 1);   // midpoints of the slices
    var points = baseline + alphas * (image - baseline);                                              // steps x C x H x W
    return (image - baseline) * gradientAt(points).mean([0], keepdim: true);
}
#endregion

#region Exercise 2: mistake
// Returns the average gradient along the path without multiplying it by image − baseline.
Tensor MyIntegratedGradients(Func<Tensor, Tensor> gradientAt, Tensor image, Tensor baseline, int steps)
{
    var alphas = ((arange(steps).to_type(ScalarType.Float32) + 0.5f) / steps).reshape(-1, 1, 1, 1);
    var points = baseline + alphas * (image - baseline);
    return gradientAt(points).mean([0], keepdim: true);
}
#endregion

#region Exercise 3: solution
string? blackPixels = "b";   // x − x′ is 0 wherever the image is black
#endregion

#region Exercise 3: mistake
string? blackPixels = "a";   // the gradient may be large there, but it is multiplied by x − x′ = 0
#endregion
