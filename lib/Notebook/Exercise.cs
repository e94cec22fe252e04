using System.Net;

namespace WhatNetworksLearn.Notebook;

public enum ExerciseStatus { NotAnswered, Correct, NotYet }

/// <summary>The verdict on one exercise, shown as a coloured line in the notebook.</summary>
public sealed record ExerciseResult(string Title, ExerciseStatus Status, string Message)
{
    public string ToHtml()
    {
        var (symbol, colour) = Status switch
        {
            ExerciseStatus.Correct => ("✔", "#2a7d2a"),
            ExerciseStatus.NotYet => ("✘", "#b02a2a"),
            _ => ("…", "#777777"),
        };
        return $"<div style=\"color:{colour};font-family:sans-serif\"><b>{symbol} {WebUtility.HtmlEncode(Title)}</b>: {WebUtility.HtmlEncode(Message)}</div>";
    }

    public override string ToString() => $"{Title}: {Status}. {Message}";
}

/// <summary>
/// Checks a student's answer against the value the kit computes. Never throws, so a notebook with unanswered
/// exercises still runs to the end; the expected value is always computed, so the check itself is exercised
/// whenever the notebook runs.
/// </summary>
public static class Exercise
{
    public static ExerciseResult Check<T>(string title, T? answer, T expected, string hint, Func<T, T, bool>? equal = null)
    {
        if (answer is null)
            return new(title, ExerciseStatus.NotAnswered, "not answered yet: replace null with your answer and run the cell again.");
        equal ??= (a, b) => EqualityComparer<T>.Default.Equals(a, b);
        return equal(answer, expected)
            ? new(title, ExerciseStatus.Correct, "correct.")
            : new(title, ExerciseStatus.NotYet, $"not yet. {hint}");
    }

    /// <summary>Numbers are equal within a relative tolerance.</summary>
    public static ExerciseResult Check(string title, double? answer, double expected, string hint, double tolerance = 1e-3) =>
        Check(title, answer, expected, hint, (a, b) => Math.Abs(a!.Value - b!.Value) <= tolerance * Math.Max(1, Math.Abs(b.Value)));
}
