using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>
/// What a technique aims at in each image of a batch: one index (a class, or a channel) for every image, or one per
/// image, as Captum's <c>target</c>. A number converts to the first and an int array to the second, so
/// <c>Attribute(images, 3)</c> and <c>Attribute(images, Targets.PerImage([3, 5]))</c> both read as they mean; labels
/// held in a tensor go through <see cref="FromLabels"/>.
/// </summary>
public readonly struct Targets
{
    readonly int single;
    readonly int[]? perImage;

    Targets(int single, int[]? perImage)
    {
        this.single = single;
        this.perImage = perImage;
    }

    public static implicit operator Targets(int index) => new(index, null);

    public static implicit operator Targets(int[] perImage) => PerImage(perImage);

    /// <summary>One index per image, in the batch's order.</summary>
    public static Targets PerImage(IReadOnlyList<int> indices)
    {
        if (indices.Count == 0)
            throw new ArgumentException("Give at least one target: one for every image, or one per image.", nameof(indices));
        return new(0, [.. indices]);
    }

    /// <summary>
    /// One class per image from a 1-D tensor of labels. Labels stored as floating-point numbers are accepted when they
    /// are whole numbers (3.0 is class 3); anything else is refused with what to do.
    /// </summary>
    public static Targets FromLabels(Tensor labels)
    {
        if (labels.dim() != 1)
            throw new ArgumentException($"Labels are one class index per image (a vector); got a tensor of shape [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (labels.shape[0] == 0)
            throw new ArgumentException("The labels are empty; give one class index per image.", nameof(labels));
        using var scope = NewDisposeScope();
        var values = labels.detach().cpu();
        if (values.is_floating_point() && !values.isfinite().logical_and(values.eq(values.round())).all().item<bool>())
            throw new ArgumentException("Labels are class indices, whole numbers such as 3; these labels hold fractions, NaN or infinite values. " +
                "Pass the class of each image (argmax of one-hot or probability rows).", nameof(labels));
        return PerImage(values.to_type(ScalarType.Int64).data<long>().ToArray().Select(v => (int)Math.Clamp(v, int.MinValue, int.MaxValue)).ToArray());
    }

    /// <summary>The index for image <paramref name="image"/> of the batch.</summary>
    public int this[long image] => perImage is null ? single : perImage[image];

    /// <summary>Every distinct index named.</summary>
    public IEnumerable<int> Indices => perImage?.Distinct() ?? [single];

    /// <summary>Checks that there is one target per image of a batch of <paramref name="images"/>, if there is one per image at all.</summary>
    public void CheckCount(long images, string what = "class")
    {
        if (perImage is not null && perImage.Length != images)
            throw new ArgumentException($"Give one {what} for all images or one per image: the batch has {images} images, but {perImage.Length} {what} targets were given.");
    }

    /// <summary>Checks every index against the model's classes and, given the batch's size, the count against it.</summary>
    public void CheckClasses(VisionModel model, long? images = null)
    {
        if (images is { } n)
            CheckCount(n);
        foreach (var index in Indices)
            model.CheckClass(index);
    }

    /// <summary>
    /// The index of every image of a batch of <paramref name="images"/> as an int64 vector on <paramref name="device"/>,
    /// what a loss or a comparison with predictions takes.
    /// </summary>
    public Tensor ForBatch(long images, Device? device = null)
    {
        CheckCount(images);
        return perImage is null
            ? full(images, single, ScalarType.Int64, device: device)
            : tensor(perImage.Select(p => (long)p).ToArray(), device: device);
    }

    /// <summary>
    /// From <paramref name="values"/> (N x K: a score per class, a mean per channel…) the column each image aims at: a vector of N.
    /// <paramref name="what"/> and <paramref name="where"/> name the columns in errors ("class", "the model's output").
    /// </summary>
    public Tensor Pick(Tensor values, string what = "class", string where = "the model's output")
    {
        long images = values.shape[0], columns = values.shape[1];
        foreach (var index in Indices)
            if (index < 0 || index >= columns)
                throw new ArgumentOutOfRangeException(nameof(values), $"There is no {what} {index} in {where}: valid ones are 0 to {columns - 1}.");
        if (perImage is null)
            return values[.., single];
        if (perImage.Length != images)
            throw new ArgumentException($"The targets name one {what} per image for {perImage.Length} images, but the batch has {images}.", nameof(values));
        using var indices = ForBatch(images, values.device);
        using var columnOfImage = indices.unsqueeze(1);
        return values.gather(1, columnOfImage).squeeze(1);
    }

    /// <summary>The targets of a batch in which every image is repeated <paramref name="copies"/> times in a row (image 0's copies first).</summary>
    public Targets RepeatEach(int copies) => perImage is null ? this : new(0, perImage.SelectMany(t => Enumerable.Repeat(t, copies)).ToArray());

    /// <summary>The targets of images <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> − 1 of the batch.</summary>
    public Targets Slice(long start, long count) => perImage is null ? this : new(0, perImage[(int)start..(int)(start + count)]);

    public override string ToString() => perImage is null ? $"{single}" : string.Join("/", perImage);
}
