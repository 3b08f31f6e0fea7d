using System.Net;
using System.Net.Sockets;

namespace Registry.Tests.Mirror;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of a real upstream that closes a connection once it has relayed
/// <paramref name="cutAfterBytes"/> bytes of responses on it: small documents pass, a large layer is cut midway.
/// </summary>
public sealed class CuttingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly int _upstreamPort;
    private readonly long _cutAfterBytes;

    public CuttingProxy(int upstreamPort, long cutAfterBytes)
    {
        _upstreamPort = upstreamPort;
        _cutAfterBytes = cutAfterBytes;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = RelayAsync(client);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
                var up = client.GetStream().CopyToAsync(upstream.GetStream(), _stop.Token);
                var down = CopyUntilCutAsync(upstream.GetStream(), client.GetStream());
                await Task.WhenAny(up, down);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
            }
            client.Client.LingerState = new LingerOption(true, 0);
        }
    }

    private async Task CopyUntilCutAsync(Stream from, Stream to)
    {
        var buffer = new byte[16 * 1024];
        long relayed = 0;
        while (relayed < _cutAfterBytes)
        {
            var n = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, _cutAfterBytes - relayed)), _stop.Token);
            if (n == 0) return;
            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            relayed += n;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
