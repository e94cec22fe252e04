using System.Diagnostics.CodeAnalysis;
using System.Net;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Notebook;

public enum ExerciseStatus { NotAnswered, Correct, NotYet }

/// <summary>
/// The verdict on one exercise, shown as a coloured line in the notebook. The HTML carries the status in a
/// <c>data-exercise</c> attribute, which the tests read to check that a solution says correct and a mistake not yet.
/// </summary>
public sealed record ExerciseResult(string Title, ExerciseStatus Status, string Message)
{
    /// <summary>The status as the HTML attribute writes it: not-answered, correct or not-yet.</summary>
    public string StatusName => Status switch
    {
        ExerciseStatus.Correct => "correct",
        ExerciseStatus.NotYet => "not-yet",
        _ => "not-answered",
    };

    public string ToHtml()
    {
        var (symbol, colour) = Status switch
        {
            ExerciseStatus.Correct => ("✔", "#2a7d2a"),
            ExerciseStatus.NotYet => ("✘", "#b02a2a"),
            _ => ("…", "#777777"),
        };
        return $"<div data-exercise=\"{StatusName}\" style=\"color:{colour};font-family:sans-serif\"><b>{symbol} {WebUtility.HtmlEncode(Title)}</b>: {WebUtility.HtmlEncode(Message)}</div>";
    }

    public override string ToString() => $"{Title}: {Status}. {Message}";
}

/// <summary>
/// Checks a student's answer against what the kit computes, without showing the expected answer. Never throws, so a
/// notebook with unanswered exercises still runs to the end. Value and code checks compute the expected value even
/// before an answer, so the check itself runs whenever the notebook does; prediction checks compute nothing until there is
/// a prediction (<see cref="Unanswered(string, string?, out ExerciseResult?)"/>). Three kinds: a value (<see cref="Check{T}"/>), a piece of code the student
/// wrote (<see cref="Implementation"/>), and a prediction made before running (<see cref="Prediction{T}"/>). The
/// per-notebook classes in <c>WhatNetworksLearn.Exercises</c> (notebooks/checks, an assembly of their own) compute the
/// expected values from the notebook's state.
/// </summary>
public static class Exercise
{
    const string NotAnsweredYet = "not answered yet: replace null with your answer and run the cell again.";

    public static ExerciseResult Check<T>(string title, T? answer, T expected, string hint, Func<T, T, bool>? equal = null)
    {
        if (answer is null)
            return new(title, ExerciseStatus.NotAnswered, NotAnsweredYet);
        equal ??= (a, b) => EqualityComparer<T>.Default.Equals(a, b);
        return equal(answer, expected)
            ? new(title, ExerciseStatus.Correct, "correct.")
            : new(title, ExerciseStatus.NotYet, $"not yet. {hint}");
    }

    /// <summary>Numbers are equal within a relative tolerance.</summary>
    public static ExerciseResult Check(string title, double? answer, double expected, string hint, double tolerance = 1e-3) =>
        Check(title, answer, expected, hint, (a, b) => Close(a!.Value, b!.Value, tolerance));

    /// <summary>
    /// The value the student's code returns, or null (not answered yet) while it still throws
    /// <see cref="NotImplementedException"/>: for checks of a number computed by a method the student writes.
    /// </summary>
    public static T? Attempt<T>(Func<T?> yours) where T : struct
    {
        try
        {
            return yours();
        }
        catch (NotImplementedException)
        {
            return null;
        }
    }

    /// <summary>
    /// Runs the student's code that computes one number and compares it with <paramref name="expected"/> within a relative
    /// tolerance. As for <see cref="Implementation"/>: code that still throws <see cref="NotImplementedException"/> or
    /// returns null is not answered yet (and told to write its code, not to replace a null it does not have); code that
    /// throws anything else is told what it threw. Never throws itself.
    /// </summary>
    public static ExerciseResult Computation(string title, Func<double?> yours, double expected, string hint, double tolerance = 1e-3)
    {
        var (answer, verdict) = RunYours(title, yours, hint);
        if (verdict is not null)
            return verdict;
        return Close(answer!.Value, expected, tolerance)
            ? new(title, ExerciseStatus.Correct, "correct.")
            : new(title, ExerciseStatus.NotYet, $"not yet. {hint}");
    }

    /// <summary>
    /// Runs the student's code that computes one value compared exactly (an index, a count) with <paramref name="expected"/>;
    /// unanswered and failing code are told as by <see cref="Computation"/>. Never throws itself.
    /// </summary>
    public static ExerciseResult ComputedValue<T>(string title, Func<T?> yours, T expected, string hint) where T : struct
    {
        var (answer, verdict) = RunYours(title, yours, hint);
        if (verdict is not null)
            return verdict;
        return answer!.Value.Equals(expected)
            ? new(title, ExerciseStatus.Correct, "correct.")
            : new(title, ExerciseStatus.NotYet, $"not yet. {hint}");
    }

    /// <summary>
    /// The student's result, or, when there is none to compare, the verdict: not answered yet (the code still throws
    /// <see cref="NotImplementedException"/> or returns null) or not yet (it threw something else, told what).
    /// </summary>
    static (T? Answer, ExerciseResult? Verdict) RunYours<T>(string title, Func<T?> yours, string hint)
    {
        try
        {
            var answer = yours();
            return answer is null ? (default, new(title, ExerciseStatus.NotAnswered, "not answered yet: your code returned null.")) : (answer, null);
        }
        catch (NotImplementedException)
        {
            return (default, new(title, ExerciseStatus.NotAnswered, WriteYourCode));
        }
        catch (Exception error)
        {
            return (default, new(title, ExerciseStatus.NotYet, $"not yet: your code threw {error.GetType().Name}: {error.Message} {hint}"));
        }
    }

    const string WriteYourCode = "not answered yet: write your code where the cell says so and run it again.";

    /// <summary>
    /// Runs the student's code and compares its tensor with the kit's result on the same inputs, within a relative
    /// tolerance (of the largest value of <paramref name="expected"/>). Code that returns null or throws
    /// <see cref="NotImplementedException"/> is not answered yet; code that throws anything else, or returns a tensor of
    /// another shape or other values, is told what differs, never what the expected values are.
    /// </summary>
    public static ExerciseResult Implementation(string title, Func<Tensor?> yours, Tensor expected, string hint, double tolerance = 1e-4)
    {
        var (answer, verdict) = RunYours(title, yours, hint);
        if (verdict is not null)
            return verdict;
        using var scope = NewDisposeScope();
        var mine = answer!.detach().cpu().to_type(ScalarType.Float64);
        var theirs = expected.detach().cpu().to_type(ScalarType.Float64);
        if (!mine.shape.SequenceEqual(theirs.shape))
            return new(title, ExerciseStatus.NotYet,
                $"not yet: your result has shape [{string.Join(", ", mine.shape)}], the kit's has [{string.Join(", ", theirs.shape)}]. {hint}");
        if (!mine.isfinite().all().item<bool>())
            return new(title, ExerciseStatus.NotYet, $"not yet: your result contains NaN or infinite values. {hint}");
        double scale = Math.Max(1e-12, theirs.abs().max().item<double>());
        var difference = (mine - theirs).abs();
        double largest = difference.max().item<double>();
        if (largest <= tolerance * scale)
            return new(title, ExerciseStatus.Correct, $"correct: your result matches the kit's (largest difference {largest:G2}).");
        double share = difference.gt(tolerance * scale).to_type(ScalarType.Float64).mean().item<double>();
        return new(title, ExerciseStatus.NotYet,
            $"not yet: {share:P0} of your values differ from the kit's, by up to {largest / scale:P0} of its largest value. {hint}");
    }

    /// <summary>
    /// A prediction the student wrote down before running: right or not, the check says what the run gave and why,
    /// in <paramref name="explanation"/>. The outcome is computed by the notebook's own run, so the check stays true.
    /// </summary>
    public static ExerciseResult Prediction<T>(string title, T? prediction, T outcome, string explanation, Func<T, T, bool>? equal = null)
    {
        if (prediction is null)
            return new(title, ExerciseStatus.NotAnswered, PredictFirst);
        equal ??= (a, b) => EqualityComparer<T>.Default.Equals(a, b);
        return equal(prediction, outcome)
            ? new(title, ExerciseStatus.Correct, $"correct: {explanation}")
            : new(title, ExerciseStatus.NotYet, $"not yet: this run gives {outcome}, not {prediction}. {explanation}");
    }

    const string PredictFirst = "not answered yet: write down your prediction before you run anything, then run the cell.";

    /// <summary>
    /// The first line of every prediction check: true, with the "not answered yet" verdict, while the student has written
    /// no prediction. Only once it returns false may the check run the kit: an experiment run before the student commits would make them
    /// wait for nothing and could show, in a progress bar or a printed line, the very outcome asked for.
    /// </summary>
    public static bool Unanswered(string title, [NotNullWhen(false)] string? prediction, [NotNullWhen(true)] out ExerciseResult? verdict)
    {
        verdict = prediction is null ? new(title, ExerciseStatus.NotAnswered, PredictFirst) : null;
        return verdict is not null;
    }

    /// <summary>
    /// The first line of a multiple-choice prediction check: <see cref="Unanswered(string, string?, out ExerciseResult?)"/>,
    /// and also true, with a "not yet" that lists the choices, when the prediction is none of <paramref name="choices"/>
    /// (compared without case or surrounding spaces).
    /// </summary>
    public static bool Unanswered(string title, [NotNullWhen(false)] string? prediction, IReadOnlyList<string> choices, [NotNullWhen(true)] out ExerciseResult? verdict)
    {
        if (Unanswered(title, prediction, out verdict))
            return true;
        if (choices.Contains(prediction.Trim(), StringComparer.OrdinalIgnoreCase))
            return false;
        verdict = new(title, ExerciseStatus.NotYet, $"not yet: answer with {Choices(choices)}.");
        return true;
    }

    /// <summary>"one of the letters a, b or c" for letters, "“higher” or “lower”" for words.</summary>
    internal static string Choices(IReadOnlyList<string> choices)
    {
        bool letters = choices.All(c => c.Length == 1);
        var quoted = choices.Select(c => letters ? c : $"\"{c}\"").ToList();
        string list = quoted.Count == 1 ? quoted[0] : string.Join(", ", quoted.Take(quoted.Count - 1)) + " or " + quoted[^1];
        return letters ? $"one of the letters {list}" : list;
    }

    /// <summary>A multiple-choice prediction: the letter of the choice (case-insensitive).</summary>
    public static ExerciseResult Prediction(string title, string? prediction, string outcome, string explanation) =>
        Prediction(title, prediction?.Trim(), outcome, explanation, (a, b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase));

    static bool Close(double a, double b, double tolerance) => Math.Abs(a - b) <= tolerance * Math.Max(1, Math.Abs(b));
}
