using System.Diagnostics;
using System.Text;

namespace Registry.Tests.Support;

/// <summary>Collects a child process's stdout and stderr lines, interleaved, to show when a test fails.</summary>
/// <remarks>Bounded: a chatty server keeps only its most recent output.</remarks>
public sealed class ProcessOutput
{
    private const int MaxChars = 1 << 20;
    private readonly StringBuilder _text = new();
    private readonly Lock _lock = new();

    public void Attach(Process process, string label)
    {
        process.OutputDataReceived += (_, e) => Append(label, "out", e.Data);
        process.ErrorDataReceived += (_, e) => Append(label, "err", e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public void Note(string line) => Append("harness", "---", line);

    public override string ToString()
    {
        lock (_lock)
        {
            return _text.ToString();
        }
    }

    private void Append(string label, string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _text.Append(label).Append(' ').Append(stream).Append("| ").AppendLine(line);
            if (_text.Length > MaxChars)
            {
                _text.Remove(0, _text.Length - MaxChars / 2).Insert(0, "[earlier output dropped]" + Environment.NewLine);
            }
        }
    }
}
