using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 15-physical-world's exercises. Each computes the expected answer with the kit's own print-and-photo
/// pipeline on the notebook's model, images and examples, so the notebook never shows it.
/// </summary>
public static class PhysicalWorldExercises
{
    /// <summary>
    /// Exercise 1: the lighting step written by the student, given each image's brightness offset and contrast factor;
    /// checked against <see cref="Lighting"/> with conditions it draws itself.
    /// </summary>
    public static ExerciseResult LightingStep(Func<Tensor, Tensor, Tensor, Tensor?> yours, Tensor images, int seed = 4)
    {
        using var scope = NewDisposeScope();
        var lighting = new Lighting(Brightness: 0.3, Contrast: 0.5);   // strong, so that the clamp matters
        using var random = new Generator((ulong)seed);
        var conditions = lighting.Draw(images.shape, random);
        var expected = lighting.Apply(images, conditions).cpu();
        return Exercise.Implementation("The lighting step", () => yours(images.clone(), conditions[.., 0].clone(), conditions[.., 1].clone())?.cpu(), expected,
            "Each image has one brightness offset b and one contrast factor c (reshape them to N x 1 x 1 x 1 to broadcast). Contrast scales the " +
            "distance from mid-grey, brightness shifts everything, and a photo's pixels stay in [0, 1].", tolerance: 1e-5);
    }

    /// <summary>
    /// Exercise 2: the survival rate written by the student from the network's answers on the clean images, on their photos,
    /// on the adversarial images and on their photos; checked against <see cref="PrintAndPhoto.Survival"/>.
    /// </summary>
    public static ExerciseResult SurvivalRate(Func<Tensor, Tensor, Tensor, Tensor, Tensor, double?> yours, VisionModel model, PrintAndPhoto photo,
        Tensor clean, Tensor adversarial, Tensor labels, int seed = 5)
    {
        using var scope = NewDisposeScope();
        Tensor Answers(Tensor images)
        {
            using var noGrad = no_grad();
            return model.Module.forward(images.to(model.Device)).argmax(1).cpu();
        }
        var expected = photo.Survival(model, clean, adversarial, labels, seed).SurvivalRate;
        var answers = (Labels: labels.cpu(), Clean: Answers(clean), CleanPhotos: Answers(photo.Apply(clean, seed)), Adversarial: Answers(adversarial),
            AdversarialPhotos: Answers(photo.Apply(adversarial, seed)));
        return Exercise.Computation("The survival rate",
            () => yours(answers.Labels.clone(), answers.Clean.clone(), answers.CleanPhotos.clone(), answers.Adversarial.clone(), answers.AdversarialPhotos.clone()), expected,
            "Count only the examples that could survive: the clean image was classified right, its photo too, and the adversarial image " +
            "fooled the network on screen. Of those, the survivors are the ones whose photo still fools it.", tolerance: 1e-9);
    }

    /// <summary>
    /// Exercise 3: which single step of <paramref name="photo"/> destroys the most adversarial examples on its own, predicted
    /// by its position in the pipeline (a: the first step … e: the fifth).
    /// </summary>
    public static ExerciseResult WorstStep(string? prediction, VisionModel model, PrintAndPhoto photo, Tensor clean, Tensor adversarial, Tensor labels)
    {
        const string title = "The most destructive step";
        if (Exercise.Unanswered(title, prediction, out var unanswered))
            return unanswered;
        var letters = photo.Steps.Select((_, i) => ((char)('a' + i)).ToString()).ToList();   // one per step of the pipeline
        if (Exercise.Unanswered(title, prediction, letters, out var notAChoice))
            return notAChoice;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        var survival = photo.Steps.Select(step => new PrintAndPhoto(step).Survival(model, clean, adversarial, labels, seed: 5, photos: 2).SurvivalRate).ToList();
        int worst = survival.IndexOf(survival.Min());
        return Exercise.Prediction(title, prediction, letters[worst],
            "Alone, each step lets survive: " + string.Join(", ", photo.Steps.Select((s, i) => $"{s.Name} {survival[i]:P1}")) + ". " +
            $"The most destructive is {photo.Steps[worst].Name}. PGD's change is a fine pattern of ±ε chosen pixel by pixel; compare the numbers " +
            "with what each step does to such a pattern: it moves pixels (turn and zoom), averages them (blur, JPEG), adds a pattern of its " +
            "own (noise) or shifts them all alike (lighting).");
    }
}
