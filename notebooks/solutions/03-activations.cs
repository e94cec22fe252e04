// Solutions to the exercises of notebooks/03-activations.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: channel `channel` of fashion-cnn's relu1 for one image (1 x 1 x 28 x 28), as 28 x 28.
Tensor MyFeatureMap(Tensor image, int channel)
{
    var conv1 = (TorchSharp.Modules.Conv2d)fashion.Layer("conv1");
    var bn1 = (TorchSharp.Modules.BatchNorm2d)fashion.Layer("bn1");
    var input = (image - fashion.Input.Mean[0]) / fashion.Input.Std[0];
    var filtered = nn.functional.conv2d(input, conv1.weight![channel..(channel + 1)], conv1.bias![channel..(channel + 1)], padding: [2, 2])[0, 0];
    var normalised = (filtered - bn1.running_mean![channel]) / (bn1.running_var![channel] + bn1.eps).sqrt() * bn1.weight![channel] + bn1.bias![channel];
    return normalised.relu();
}
#endregion

#region Exercise 1: mistake
// Filters the raw pixels: forgets the network's own normalisation of the input.
Tensor MyFeatureMap(Tensor image, int channel)
{
    var conv1 = (TorchSharp.Modules.Conv2d)fashion.Layer("conv1");
    var bn1 = (TorchSharp.Modules.BatchNorm2d)fashion.Layer("bn1");
    var filtered = nn.functional.conv2d(image, conv1.weight![channel..(channel + 1)], conv1.bias![channel..(channel + 1)], padding: [2, 2])[0, 0];
    var normalised = (filtered - bn1.running_mean![channel]) / (bn1.running_var![channel] + bn1.eps).sqrt() * bn1.weight![channel] + bn1.bias![channel];
    return normalised.relu();
}
#endregion

#region Exercise 2: solution
// Exercise 2: 2 x 2 max pooling of maps C x H x W (H and W even) into C x H/2 x W/2.
Tensor MyMaxPool(Tensor maps)
{
    long c = maps.shape[0], h = maps.shape[1] / 2, w = maps.shape[2] / 2;
    return maps.reshape(c, h, 2, w, 2).amax([2, 4]);   // rows 2i and 2i+1 share i, columns 2j and 2j+1 share j
}
#endregion

#region Exercise 2: mistake
// Splits each dimension as (2, blocks) instead of (blocks, 2): pools rows i and i + H/2, far apart, instead of neighbours.
Tensor MyMaxPool(Tensor maps)
{
    long c = maps.shape[0], h = maps.shape[1] / 2, w = maps.shape[2] / 2;
    return maps.reshape(c, 2, h, 2, w).amax([1, 3]);
}
#endregion

#region Exercise 3: solution
string? movedMaps = "b";   // relu3's positions are 4 pixels apart: convolutions, ReLUs and the two pools move with the image
#endregion

#region Exercise 3: mistake
string? movedMaps = "c";   // counts the shift in pixels, not in relu3's positions, which are 4 pixels apart
#endregion
