using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Registry.Tests.Support;

namespace Registry.Tests.Notifications;

/// <summary>One POST the receiver got: its path, headers and body as sent.</summary>
public sealed record ReceivedDelivery(string Method, string Path, string? ContentType, IReadOnlyDictionary<string, string[]> Headers, string Body)
{
    /// <summary>The single event of the envelope (the registry sends one per POST, as distribution does).</summary>
    public JsonObject Event => JsonNode.Parse(Body)!["events"]!.AsArray().Single()!.AsObject();
}

/// <summary>
/// A notification endpoint on 127.0.0.1 (an <see cref="HttpListener"/>): records every POST, answers 200 (or the
/// status <see cref="FailNext"/> asks for), and can be stopped and started again on the same port, like a receiver
/// that goes down for a while.
/// </summary>
public sealed class EventReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedDelivery> _accepted = new();
    private readonly ConcurrentQueue<ReceivedDelivery> _all = new();
    private HttpListener? _listener;
    private Task? _loop;
    private int _failNext;

    public EventReceiver(int? port = null) => Port = port ?? FreePort.Next();

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/events";

    /// <summary>Deliveries answered 2xx, in arrival order.</summary>
    public IReadOnlyList<ReceivedDelivery> Accepted => [.. _accepted];

    /// <summary>Every delivery attempt that reached the receiver, refused ones too.</summary>
    public IReadOnlyList<ReceivedDelivery> Attempts => [.. _all];

    /// <summary>The next <paramref name="count"/> deliveries are answered 500.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failNext, count);

    public void Start()
    {
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        listener.Start();
        _listener = listener;
        _loop = Task.Run(() => ServeAsync(listener));
    }

    public async Task StopAsync()
    {
        if (_listener is null) return;
        _listener.Stop();
        _listener.Close();
        await _loop!;
        _listener = null;
    }

    /// <summary>Waits (bounded) until <paramref name="count"/> deliveries were accepted; returns them.</summary>
    public async Task<IReadOnlyList<ReceivedDelivery>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (_accepted.Count < count && DateTime.UtcNow < deadline) await Task.Delay(50);
        return Accepted;
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task ServeAsync(HttpListener listener)
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            string body;
            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8)) body = await reader.ReadToEndAsync();
            var headers = context.Request.Headers.AllKeys.Where(k => k is not null)
                .ToDictionary(k => k!, k => context.Request.Headers.GetValues(k!) ?? [], StringComparer.OrdinalIgnoreCase);
            var delivery = new ReceivedDelivery(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.ContentType, headers, body);
            _all.Enqueue(delivery);
            var fail = Interlocked.Decrement(ref _failNext) >= 0;
            if (!fail) _accepted.Enqueue(delivery);
            context.Response.StatusCode = fail ? 500 : 200;
            context.Response.Close();
        }
    }
}
