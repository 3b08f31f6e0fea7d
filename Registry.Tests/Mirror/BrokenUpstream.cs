using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Registry.Tests.Mirror;

/// <summary>
/// An upstream that is up but broken: every request on 127.0.0.1 gets the same raw HTTP status line and headers
/// (a 500, a 503 with Retry-After, ...), the one thing a real registry of ours cannot be made to answer on demand.
/// </summary>
public sealed class BrokenUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private readonly byte[] _answer;

    public BrokenUpstream(string statusLine, params string[] headers)
    {
        _answer = Encoding.ASCII.GetBytes($"HTTP/1.1 {statusLine}\r\n{string.Concat(headers.Select(h => h + "\r\n"))}Content-Length: 0\r\nConnection: close\r\n\r\n");
        _listener.Start();
        _serving = ServeAsync();
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    private async Task ServeAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var stream = client.GetStream();
                var buffer = new byte[8192];
                var request = new StringBuilder();
                while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await stream.ReadAsync(buffer, _stop.Token);
                    if (n == 0) break;
                    request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }
                await stream.WriteAsync(_answer, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _serving;
        _stop.Dispose();
    }
}
