using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>Principal component analysis: t-SNE's reduction of the features and its starting map.</summary>
public static class PrincipalComponents
{
    /// <summary>
    /// The rows of <paramref name="points"/> projected on their first <paramref name="dimensions"/> principal
    /// components (N x dimensions, float32), from the eigenvectors of the covariance (or of the Gram matrix when
    /// D &gt; N). Each component's sign is fixed so that its largest coefficient is positive, so results do not flip.
    /// </summary>
    public static Tensor Project(Tensor points, int dimensions)
    {
        using var scope = NewDisposeScope();
        long n = points.shape[0];
        var x = points.detach().cpu().reshape(n, -1).to_type(ScalarType.Float32);
        x = x - x.mean([0], keepdim: true);
        long d = x.shape[1];
        int k = (int)Math.Min(dimensions, Math.Min(n, d));
        // The products in float32 (fast), the eigenvectors in float64 (accurate).
        Tensor components;
        if (d <= n)
        {
            var (_, vectors) = linalg.eigh(x.t().mm(x).to_type(ScalarType.Float64)); // ascending eigenvalues
            components = vectors.flip(1).narrow(1, 0, k);
        }
        else
        {
            var (values, vectors) = linalg.eigh(x.mm(x.t()).to_type(ScalarType.Float64));
            var u = vectors.flip(1).narrow(1, 0, k);
            var s = values.flip(0).narrow(0, 0, k).clamp_min(1e-300).sqrt();
            components = x.t().to_type(ScalarType.Float64).mm(u) / s;
        }
        var largest = components.abs().argmax(0, keepdim: true);
        var signs = components.gather(0, largest).sign();
        components = components * where(signs.eq(0), ones_like(signs), signs);
        return x.mm(components.to_type(ScalarType.Float32)).MoveToOuterDisposeScope();
    }
}
