using System.Text;

namespace Fleet.Bench.Agent.Reporting;

/// <summary>A plain-text table: the first column left-aligned, the others right-aligned.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    public string Render(bool leftAlignAll = false)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells)
        {
            for (var i = 0; i < widths.Length; i++)
            {
                var cell = i < cells.Count ? cells[i] : string.Empty;
                text.Append(i == 0 || leftAlignAll ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]));
                text.Append(i < widths.Length - 1 ? "  " : string.Empty);
            }

            text.Append('\n');
        }

        Line(headers);
        Line(widths.Select(w => new string('-', w)).ToArray());
        foreach (var row in _rows)
        {
            Line(row);
        }

        return text.ToString();
    }
}
