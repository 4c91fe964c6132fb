using System.Text;

namespace Fleet.Bench.Rpc.Reporting;

/// <summary>A plain-text table: first column left-aligned, the others right-aligned.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"Row has {cells.Length} cells, the table {headers.Length} columns.", nameof(cells));
        }

        _rows.Add(cells);
    }

    public override string ToString()
    {
        var widths = headers.Select((h, i) => _rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        var text = new StringBuilder();
        void Line(string[] cells)
        {
            for (var i = 0; i < cells.Length; i++)
            {
                text.Append(i == 0 ? cells[i].PadRight(widths[i]) : "  " + cells[i].PadLeft(widths[i]));
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
