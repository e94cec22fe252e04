using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace NotebookRunner;

/// <summary>One exercise check the tests expect: the cell of the derived notebook and the status its check must show.</summary>
public sealed record ExpectedCheck(int Cell, int Exercise, string Status, string Part);

/// <summary>
/// A notebook with its exercises answered, for the tests: the notebook exactly as students get it (every check must say
/// not-answered), then, for every exercise, the teacher's solution with the exercise's check cell again (must say
/// correct), and a typical mistake with the check again (must say not-yet), so that no check can pass whatever the
/// student writes.
/// </summary>
/// <remarks>
/// Conventions, in the notebooks: the cell a student edits starts with the line <c>// Exercise N</c> (followed by what
/// to do), and the next code cell is its check. In <c>notebooks/solutions/NAME.cs</c>, one region per answer:
/// <c>#region Exercise N: solution</c> and <c>#region Exercise N: mistake</c>, each closed by <c>#endregion</c>; the
/// region's code replaces the student's cell.
/// </remarks>
public static partial class Solutions
{
    [GeneratedRegex(@"^// Exercise (?<n>\d+)\b")]
    private static partial Regex StudentCellPattern();

    [GeneratedRegex(@"^#region Exercise (?<n>\d+): (?<kind>solution|mistake)\s*$(?<code>.*?)^#endregion\s*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex RegionPattern();

    /// <summary>The solutions file of a notebook: notebooks/solutions/NAME.cs.</summary>
    public static string FileOf(string notebookPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(notebookPath))!, "solutions", Path.GetFileNameWithoutExtension(notebookPath) + ".cs");

    /// <summary>The exercise numbers of a notebook and the index of each one's student cell, in order.</summary>
    public static List<(int Exercise, int Cell)> StudentCells(JsonArray cells)
    {
        var found = new List<(int, int)>();
        for (int i = 0; i < cells.Count; i++)
            if (IsCode(cells[i]!) && StudentCellPattern().Match(Source(cells[i]!)) is { Success: true } match)
                found.Add((int.Parse(match.Groups["n"].Value), i));
        return found;
    }

    /// <summary>Reads the answers of a solutions file: (exercise, "solution" or "mistake") to the code that replaces the student's cell.</summary>
    public static Dictionary<(int Exercise, string Kind), string> Read(string solutionsPath)
    {
        var answers = new Dictionary<(int, string), string>();
        foreach (Match region in RegionPattern().Matches(File.ReadAllText(solutionsPath)))
        {
            var key = (int.Parse(region.Groups["n"].Value), region.Groups["kind"].Value);
            if (!answers.TryAdd(key, region.Groups["code"].Value.Trim('\n', '\r')))
                throw new InvalidDataException($"{solutionsPath} has two regions 'Exercise {key.Item1}: {key.Item2}'.");
        }
        return answers;
    }

    /// <summary>
    /// Writes the notebook with its answers to <paramref name="outputPath"/> (same file name as the notebook, so its
    /// artifacts keep their place) and returns every check the run must show.
    /// </summary>
    public static List<ExpectedCheck> Derive(string notebookPath, string outputPath)
    {
        var notebook = JsonNode.Parse(File.ReadAllText(notebookPath))!;
        var cells = notebook["cells"]!.AsArray();
        var students = StudentCells(cells);
        if (students.Count == 0)
            throw new InvalidDataException($"{notebookPath} has no exercise cells (code cells starting with '// Exercise N').");
        var answers = Read(FileOf(notebookPath));
        var expected = new List<ExpectedCheck>();
        var appended = new List<JsonNode>();
        foreach (var (exercise, studentCell) in students)
        {
            int checkCell = NextCodeCell(cells, studentCell)
                ?? throw new InvalidDataException($"Exercise {exercise} of {notebookPath} has no check cell after its student cell.");
            expected.Add(new(checkCell, exercise, "not-answered", "as given to students"));
            foreach (var (kind, status) in new[] { ("solution", "correct"), ("mistake", "not-yet") })
            {
                if (!answers.TryGetValue((exercise, kind), out var code))
                    throw new InvalidDataException($"{FileOf(notebookPath)} has no region 'Exercise {exercise}: {kind}'.");
                appended.Add(WithSource(cells[studentCell]!, code));
                appended.Add(cells[checkCell]!.DeepClone());
                expected.Add(new(cells.Count + appended.Count - 1, exercise, status, kind));
            }
        }
        var unused = answers.Keys.Where(k => students.All(s => s.Exercise != k.Exercise)).ToList();
        if (unused.Count > 0)
            throw new InvalidDataException($"{FileOf(notebookPath)} answers exercise {unused[0].Exercise}, which the notebook does not have.");
        foreach (var cell in appended)
            cells.Add(cell);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputPath))!);
        File.WriteAllText(outputPath, notebook.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return expected;
    }

    static int? NextCodeCell(JsonArray cells, int after)
    {
        for (int i = after + 1; i < cells.Count; i++)
            if (IsCode(cells[i]!))
                return StudentCellPattern().IsMatch(Source(cells[i]!)) ? null : i;
        return null;
    }

    static bool IsCode(JsonNode cell) => cell["cell_type"]!.GetValue<string>() == "code";

    static string Source(JsonNode cell) => cell["source"] switch
    {
        JsonArray lines => string.Concat(lines.Select(l => l!.GetValue<string>())),
        var value => value!.GetValue<string>(),
    };

    static JsonNode WithSource(JsonNode cell, string code)
    {
        var copy = cell.DeepClone();
        var lines = code.Replace("\r\n", "\n").Split('\n');
        copy["source"] = new JsonArray(lines.Select((l, i) => (JsonNode)JsonValue.Create(i < lines.Length - 1 ? l + "\n" : l)!).ToArray());
        return copy;
    }
}
