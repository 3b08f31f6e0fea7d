using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;

namespace Registry.Tests.Support;

/// <summary>Reading HTTP/1.1 answers off a raw socket, for tests that send what HttpClient would not (stalled or broken bodies).</summary>
public static class RawHttp
{
    /// <summary>
    /// Sends <paramref name="request"/> (headers and a part of the body they announce) to 127.0.0.1:<paramref name="port"/>,
    /// then nothing more: the answer, how long it took, and that the server ended the connection after it.
    /// </summary>
    public static async Task<(string Answer, TimeSpan Elapsed)> StallAsync(int port, byte[] request)
    {
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(request);
        var clock = Stopwatch.StartNew();
        var answer = await ReadAnswerAsync(stream, new CancellationTokenSource(TimeSpan.FromSeconds(40)).Token);
        var elapsed = clock.Elapsed;
        // The connection carries no further request: Kestrel ends it (with a reset, as the body is unread) once it has
        // given up draining the body (5 s).
        answer.Should().Contain("\r\nConnection: close\r\n");
        try
        {
            (await stream.ReadAsync(new byte[1], new CancellationTokenSource(TimeSpan.FromSeconds(15)).Token)).Should().Be(0);
        }
        catch (IOException)
        {
            // The reset: the end too.
        }
        return (answer, elapsed);
    }

    /// <summary>The body of a raw answer.</summary>
    public static string Body(string answer) => answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];

    /// <summary>
    /// Reads until one whole final answer has arrived (with the body its Content-Length announces) or the server closes;
    /// a body left unread would otherwise keep Kestrel draining it for a few seconds before it closes the connection.
    /// </summary>
    public static async Task<string> ReadAnswerAsync(Stream stream, CancellationToken ct)
    {
        var received = new MemoryStream();
        var buffer = new byte[16384];
        while (!IsComplete(received.GetBuffer().AsSpan(0, (int)received.Length), head: false))
        {
            var n = await stream.ReadAsync(buffer, ct);
            if (n == 0) break;
            received.Write(buffer, 0, n);
        }
        return Encoding.UTF8.GetString(received.ToArray());
    }

    /// <summary>True once <paramref name="data"/> holds a whole final answer with the body its Content-Length announces.</summary>
    public static bool IsComplete(ReadOnlySpan<byte> data, bool head)
    {
        while (true)
        {
            var end = data.IndexOf("\r\n\r\n"u8);
            if (end < 0) return false;
            var headers = Encoding.ASCII.GetString(data[..end]);
            var status = headers.Split(' ', 3) is [_, var code, ..] && int.TryParse(code, out var c) ? c : -1;
            if (status == 100)
            {
                data = data[(end + 4)..];
                continue;
            }
            if (head || status is 204 or 304) return true;
            foreach (var line in headers.Split("\r\n"))
            {
                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)
                    && long.TryParse(line["Content-Length:".Length..].Trim(), out var length))
                    return data.Length - (end + 4) >= length;
            }
            // No length: the answer ends when the server closes the connection.
            return false;
        }
    }
}
