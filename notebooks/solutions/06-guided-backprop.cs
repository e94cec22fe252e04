// Solutions to the exercises of notebooks/06-guided-backprop.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: what the guided rule passes back to h (same shape as h).
Tensor MyGuidedBackward(Tensor h, Tensor arriving)
{
    return where(h.gt(0), arriving.relu(), zeros_like(arriving));   // active in the forward pass and a positive gradient
}
#endregion

#region Exercise 1: mistake
// Plain backpropagation's rule: it checks h but lets negative gradients through.
Tensor MyGuidedBackward(Tensor h, Tensor arriving)
{
    return where(h.gt(0), arriving, zeros_like(arriving));
}
#endregion

#region Exercise 2: solution
// Exercise 2: the guided gradient (1 x 6) of y = w3 · relu(w2 · relu(w1 · x)) with respect to x.
Tensor MyGuidedGradient(Tensor x, Tensor w1, Tensor w2, Tensor w3)
{
    Tensor Guided(Tensor h, Tensor g) => where(h.gt(0), g.relu(), zeros_like(g));
    var h1 = x.matmul(w1.t());                 // 1 x 8: what the first ReLU received
    var h2 = h1.relu().matmul(w2.t());         // 1 x 8: what the second ReLU received
    var atH2 = Guided(h2, w3);                 // dy/d relu(h2) is w3, then the rule
    var atH1 = Guided(h1, atH2.matmul(w2));    // back through w2, then the rule
    return atH1.matmul(w1);                    // back through w1: 1 x 6
}
#endregion

#region Exercise 2: mistake
// Applies the rule at the second ReLU only: on the way back through the first ReLU, nothing is masked.
Tensor MyGuidedGradient(Tensor x, Tensor w1, Tensor w2, Tensor w3)
{
    var h2 = x.matmul(w1.t()).relu().matmul(w2.t());
    var atH2 = where(h2.gt(0), w3.relu(), zeros_like(w3));
    return atH2.matmul(w2).matmul(w1);
}
#endregion

#region Exercise 3: solution
string? guidedSigns = "b";   // below relu1, conv1 and its batch normalisation multiply by weights of both signs
#endregion

#region Exercise 3: mistake
string? guidedSigns = "a";   // only the ReLUs' gradients are non-negative, not what conv1 makes of them
#endregion
