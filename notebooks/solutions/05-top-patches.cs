// Solutions to the exercises of notebooks/05-top-patches.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
string? deepField = "c";   // 211 pixels: layer3's four convolutions, 16 pixels apart, add 112 to layer2's 99
#endregion

#region Exercise 1: mistake
string? deepField = "b";   // as if layer3 widened the field by as little as layer2 did
#endregion

#region Exercise 2: solution
// Exercise 2: the receptive field (size, jump, start) at the end of a path of layers, from the image up.
(int Size, int Jump, double Start) MyField(IReadOnlyList<LayerGeometry> path)
{
    int size = 1, jump = 1;
    double start = 0;
    foreach (var layer in path)
    {
        int span = layer.Dilation * (layer.Kernel - 1) + 1;
        size += (span - 1) * jump;
        start += ((span - 1) / 2.0 - layer.Padding) * jump;
        jump *= layer.Stride;   // only now: this layer's kernel steps over the units of the layer below
    }
    return (size, jump, start);
}
#endregion

#region Exercise 2: mistake
// Multiplies the jump by the stride first, so a strided layer's own kernel counts as if it were one layer higher.
(int Size, int Jump, double Start) MyField(IReadOnlyList<LayerGeometry> path)
{
    int size = 1, jump = 1;
    double start = 0;
    foreach (var layer in path)
    {
        int span = layer.Dilation * (layer.Kernel - 1) + 1;
        jump *= layer.Stride;
        size += (span - 1) * jump;
        start += ((span - 1) / 2.0 - layer.Padding) * jump;
    }
    return (size, jump, start);
}
#endregion

#region Exercise 3: solution
// Exercise 3: the indices of the regions kept by greedy non-maximum suppression, in the order kept.
List<int> MySuppression(IReadOnlyList<Region> regions, IReadOnlyList<float> scores, double iouThreshold)
{
    var kept = new List<int>();
    foreach (int i in Enumerable.Range(0, regions.Count).OrderByDescending(i => scores[i]))
        if (kept.All(k => regions[i].IoU(regions[k]) <= iouThreshold))
            kept.Add(i);
    return kept;
}
#endregion

#region Exercise 3: mistake
// Walks the candidates in the order of the map instead of strongest first: an early weak region blocks a strong one.
List<int> MySuppression(IReadOnlyList<Region> regions, IReadOnlyList<float> scores, double iouThreshold)
{
    var kept = new List<int>();
    for (int i = 0; i < regions.Count; i++)
        if (kept.All(k => regions[i].IoU(regions[k]) <= iouThreshold))
            kept.Add(i);
    return kept;
}
#endregion
