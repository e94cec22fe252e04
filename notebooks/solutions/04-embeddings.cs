// Solutions to the exercises of notebooks/04-embeddings.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: for each query (Q x D), the indices (Q x k) of its k nearest database rows (M x D), nearest first.
Tensor MyNearest(Tensor queries, Tensor database, int k) =>
    cdist(queries, database).topk(k, dim: 1, largest: false).indexes;
#endregion

#region Exercise 1: mistake
// Takes the largest dot products for the nearest: a long vector has large products with everything, near or not.
Tensor MyNearest(Tensor queries, Tensor database, int k) =>
    queries.mm(database.t()).topk(k, dim: 1, largest: true).indexes;
#endregion

#region Exercise 2: solution
string? largestGain = "c";   // Sandal: in pixels its nearest image is often a sneaker; the embedding tells them apart
#endregion

#region Exercise 2: mistake
string? largestGain = "b";   // Shirt: the worst in pixels, but the network confuses shirts too
#endregion

#region Exercise 3: solution
// Exercise 3: the t-SNE gradient (a 2-vector) of point i, from the affinities p (N x N) and the map y (N x 2).
Tensor MyTsneGradient(Tensor p, Tensor y, int i)
{
    var kernel = 1 / (1 + (y.unsqueeze(1) - y.unsqueeze(0)).pow(2).sum(2));   // N x N: (1 + |y_k - y_l|^2)^-1
    kernel = kernel * (1 - eye(y.shape[0], dtype: y.dtype));                  // no pair of a point with itself
    var q = kernel / kernel.sum();
    return 4 * (((p[i] - q[i]) * kernel[i]).unsqueeze(1) * (y[i] - y)).sum(dim: 0);
}
#endregion

#region Exercise 3: mistake
// Leaves the diagonal in q's normalisation: every point counts itself as a neighbour at distance 0.
Tensor MyTsneGradient(Tensor p, Tensor y, int i)
{
    var kernel = 1 / (1 + (y.unsqueeze(1) - y.unsqueeze(0)).pow(2).sum(2));
    var q = kernel / kernel.sum();
    return 4 * (((p[i] - q[i]) * kernel[i]).unsqueeze(1) * (y[i] - y)).sum(dim: 0);
}
#endregion
