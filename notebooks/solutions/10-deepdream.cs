// Solutions to the exercises of notebooks/10-deepdream.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: one DeepDream step (1 x 3 x H x W) from image at layer, with the given strength.
Tensor MyDreamStep(Tensor image, string layer, double strength)
{
    var (_, gradient) = InputOptimizer.ValueAndGradient(trunk, Objective.MeanSquare(layer), image);
    return (image + strength * gradient / gradient.abs().mean()).clamp(0, 1);   // every pixel moves by `strength` on average
}
#endregion

#region Exercise 1: mistake
// Normalises by the largest absolute gradient instead of the mean: the step is far smaller than the strength.
Tensor MyDreamStep(Tensor image, string layer, double strength)
{
    var (_, gradient) = InputOptimizer.ValueAndGradient(trunk, Objective.MeanSquare(layer), image);
    return (image + strength * gradient / gradient.abs().max()).clamp(0, 1);
}
#endregion

#region Exercise 2: solution
string? dreamGain = "b";   // about 2.7 times: the activations grow about 1.6 times, and the objective is their square
#endregion

#region Exercise 2: mistake
string? dreamGain = "d";   // the dream looks transformed, but the layer's mean square grows a few times, not twentyfold
#endregion

#region Exercise 3: solution
// Exercise 3: the image (1 x 3 x H x W of largePhoto) the next octave starts from.
Tensor MyOctaveStart(Tensor dreamt, Tensor smallPhoto, Tensor largePhoto)
{
    var detail = dreamt - smallPhoto;   // what the dream added at the small size
    var enlarged = nn.functional.interpolate(detail, [largePhoto.shape[2], largePhoto.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
    return (largePhoto + enlarged).clamp(0, 1);
}
#endregion

#region Exercise 3: mistake
// Enlarges the small dream itself: the larger copy of the photo and its finer texture never come back.
Tensor MyOctaveStart(Tensor dreamt, Tensor smallPhoto, Tensor largePhoto)
{
    return nn.functional.interpolate(dreamt, [largePhoto.shape[2], largePhoto.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false).clamp(0, 1);
}
#endregion

#region Exercise 4: solution
// Exercise 4: images (N x C x h x w) mirrored at their edges up to N x C x height x width, the image in the centre.
Tensor MyMirror(Tensor images, int height, int width)
{
    // The rows (or columns) to take: an endless mirror tiling repeats every 2 (n - 1) positions, and pixel 0 of the
    // image sits at position ceil((size - n) / 2).
    Tensor Sources(long n, int size)
    {
        if (n == 1)
            return zeros(size, dtype: ScalarType.Int64);
        long period = 2 * (n - 1);
        var position = (arange(size, dtype: ScalarType.Int64) - (size - n + 1) / 2).remainder(period);   // in [0, period)
        return where(position.lt(n), position, period - position);
    }
    return images.index_select(2, Sources(images.shape[2], height)).index_select(3, Sources(images.shape[3], width));
}
#endregion

#region Exercise 4: mistake
// One reflecting pad: right for a narrow margin, but a reflection cannot reach further than the image is wide, so the
// small images fail, and the odd margin's extra row goes below instead of above.
Tensor MyMirror(Tensor images, int height, int width)
{
    long h = images.shape[2], w = images.shape[3];
    long top = (height - h) / 2, left = (width - w) / 2;
    return nn.functional.pad(images, [left, width - w - left, top, height - h - top], TorchSharp.PaddingModes.Reflect);
}
#endregion
