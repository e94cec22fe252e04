// Solutions to the exercises of notebooks/19-unit-explorer.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the activation map (h x w) of one unit on one photo.
Tensor MyActivationMap(VisionModel model, Tensor photo, string layer, int channel)
{
    using var output = model.Activations(photo, layer)[layer];   // 1 x C x h x w, in no dispose scope
    return output[0, channel].clone();
}
#endregion

#region Exercise 1: mistake
// Averages all the layer's channels: the layer's overall response, not the one unit's.
Tensor MyActivationMap(VisionModel model, Tensor photo, string layer, int channel)
{
    using var output = model.Activations(photo, layer)[layer];
    return output[0].mean([0]);
}
#endregion

#region Exercise 2: solution
// Exercise 2: the index of the most selective unit, from a photos x units tensor of peaks.
int? MyMostSelective(Tensor peaks)
{
    var sorted = peaks.sort(0, descending: true).Values;                       // per unit, its peaks from largest down
    var ratio = sorted[0] / sorted[1].clamp_min(1e-6f);                        // largest over second largest
    ratio = ratio.masked_fill(sorted[0].le(0), float.NegativeInfinity);        // units that never respond do not count
    return (int)ratio.argmax().item<long>();
}
#endregion

#region Exercise 2: mistake
// Takes the unit with the strongest response anywhere: strong is not the same as selective.
int? MyMostSelective(Tensor peaks) => (int)peaks.amax(0).argmax().item<long>();
#endregion

#region Exercise 3: solution
// Exercise 3: your prediction, "a", "b", "c" or "d".
string? largestRegions = "d";
#endregion

#region Exercise 3: mistake
// Believes early units see the most because the early maps are the largest.
string? largestRegions = "a";
#endregion
