// Solutions to the exercises of notebooks/01-occlusion.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the probability of class target with the patch at each position, rows x columns.
Tensor MyOcclusion(VisionModel model, Tensor image, int target, int patch, int stride, float fill)
{
    int rows = ((int)image.shape[1] - patch) / stride + 1, columns = ((int)image.shape[2] - patch) / stride + 1;
    var copies = new List<Tensor>();
    for (int row = 0; row < rows; row++)
        for (int column = 0; column < columns; column++)
        {
            var copy = image.clone();
            int top = row * stride, left = column * stride;
            copy[.., top..(top + patch), left..(left + patch)].fill_(fill);
            copies.Add(copy);
        }
    return model.Probabilities(stack(copies))[.., target].reshape(rows, columns);
}
#endregion

#region Exercise 1: mistake
// Reads the class's score (logit) instead of its probability: the softmax is missing.
Tensor MyOcclusion(VisionModel model, Tensor image, int target, int patch, int stride, float fill)
{
    int rows = ((int)image.shape[1] - patch) / stride + 1, columns = ((int)image.shape[2] - patch) / stride + 1;
    var copies = new List<Tensor>();
    for (int row = 0; row < rows; row++)
        for (int column = 0; column < columns; column++)
        {
            var copy = image.clone();
            int top = row * stride, left = column * stride;
            copy[.., top..(top + patch), left..(left + patch)].fill_(fill);
            copies.Add(copy);
        }
    return model.Forward(stack(copies))[.., target].reshape(rows, columns);
}
#endregion

#region Exercise 2: solution
string? whitePatch = "c";   // more: a white square changes the image wherever it lies, also on the black background
#endregion

#region Exercise 2: mistake
string? whitePatch = "b";   // as if the fill did not matter
#endregion

#region Exercise 3: solution
// Exercise 3: the smallest side (6 to 16) of a black patch, stride 2, that lowers P(Trouser) by 50 points somewhere; 0 if none.
var trouser = sample.Images[chosen[1]];
var (trouserClass, _) = model.Predict(trouser.unsqueeze(0))[0];
int? trouserSide = Enumerable.Range(6, 11).FirstOrDefault(side =>
{
    using var r = new Occlusion(model, new OcclusionOptions(PatchSize: side, Stride: 2, Fill: 0, BatchSize: 128)).Run(trouser, trouserClass);
    return r.BaseProbability - r.Probabilities.min().item<float>() >= 0.5f;
});
#endregion

#region Exercise 3: mistake
// Takes the drop of the pixel map, a mean over all the positions that hid a pixel, instead of the drop at the worst position.
var trouser = sample.Images[chosen[1]];
var (trouserClass, _) = model.Predict(trouser.unsqueeze(0))[0];
int? trouserSide = Enumerable.Range(6, 11).FirstOrDefault(side =>
{
    using var r = new Occlusion(model, new OcclusionOptions(PatchSize: side, Stride: 2, Fill: 0, BatchSize: 128)).Run(trouser, trouserClass);
    return r.BaseProbability - r.PixelMap.min().item<float>() >= 0.5f;
});
#endregion
