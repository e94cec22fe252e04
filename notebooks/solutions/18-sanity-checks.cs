// Solutions to the exercises of notebooks/18-sanity-checks.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the cascade, (stages + 1) x N rank correlations of the method's maps with those of the trained network.
Tensor MyCascade(VisionModel model, IAttribution method, Tensor images, Targets targets, string[] stages)
{
    var trained = Attributions.PerPixel(method.Attribute(images, targets));
    var rows = new List<Tensor> { Attributions.RankCorrelation(trained, trained) };
    for (int s = 1; s <= stages.Length; s++)
        using (RandomizedLayers.Apply(model, stages.Take(s).ToArray(), seed: 0))   // the top s layers random; trained again after the block
            rows.Add(Attributions.RankCorrelation(Attributions.PerPixel(method.Attribute(images, targets)), trained));
    return stack(rows.ToArray());
}
#endregion

#region Exercise 1: mistake
// Randomises only the s-th layer at stage s, not the s layers from the top: that is one layer at a time, not a cascade.
Tensor MyCascade(VisionModel model, IAttribution method, Tensor images, Targets targets, string[] stages)
{
    var trained = Attributions.PerPixel(method.Attribute(images, targets));
    var rows = new List<Tensor> { Attributions.RankCorrelation(trained, trained) };
    for (int s = 1; s <= stages.Length; s++)
        using (RandomizedLayers.Apply(model, [stages[s - 1]], seed: 0))
            rows.Add(Attributions.RankCorrelation(Attributions.PerPixel(method.Attribute(images, targets)), trained));
    return stack(rows.ToArray());
}
#endregion

#region Exercise 2: solution
string? guidedAndClass = "a";   // the ReLU gates of the forward pass, the same for every class, shape the guided map
#endregion

#region Exercise 2: mistake
string? guidedAndClass = "c";   // true of Grad-CAM, but guided backpropagation hardly depends on the class
#endregion

#region Exercise 3: solution
string? topOrBottom = "b";   // a random first layer changes what every layer above sees; a random fc2 only the starting weights
#endregion

#region Exercise 3: mistake
string? topOrBottom = "a";   // the class layer matters for the saliency map, far less for guided backpropagation
#endregion
