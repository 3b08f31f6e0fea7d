using System.Net;
using Registry.Core.Configuration;

namespace Registry.V1.Hosting;

/// <summary>
/// Admission of layer uploads (<see cref="UploadLimitSettings"/>): an upload runs at once when the server and its client
/// both have room, otherwise it waits in its client's queue, first in first out. A freed slot goes to the waiting client
/// that runs the fewest uploads (between equals, the one served longest ago), so a client that floods cannot keep a
/// second one waiting behind its backlog. Only a full queue or a wait past the timeout refuses.
/// </summary>
internal sealed class UploadSlots(UploadLimitSettings settings)
{
    public enum Admission { Admitted, QueueFull, TimedOut, ClientGone }

    private readonly Dictionary<IPAddress, Client> _clients = [];
    private readonly Lock _lock = new();
    private int _running;
    private long _grants;

    public async Task<Admission> EnterAsync(IPAddress address, CancellationToken ct)
    {
        Client client;
        TaskCompletionSource<bool> waiter;
        LinkedListNode<TaskCompletionSource<bool>> node;
        lock (_lock)
        {
            client = ClientOf(address);
            if (client.Waiting.Count == 0 && HasRoom(client))
            {
                Start(client);
                return Admission.Admitted;
            }
            if (client.Waiting.Count >= settings.QueuePerClient)
            {
                ForgetIfIdle(address, client);
                return Admission.QueueFull;
            }
            waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = client.Waiting.AddLast(waiter);
        }

        try
        {
            await waiter.Task.WaitAsync(settings.QueueTimeout, ct);
            return Admission.Admitted;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            lock (_lock)
            {
                // Withdraw, unless a slot was granted in the same instant (grants complete waiters under this lock).
                if (waiter.TrySetResult(false))
                {
                    client.Waiting.Remove(node);
                    ForgetIfIdle(address, client);
                    return e is TimeoutException ? Admission.TimedOut : Admission.ClientGone;
                }
            }
            if (e is TimeoutException) return Admission.Admitted;
            Leave(address);
            return Admission.ClientGone;
        }
    }

    public void Leave(IPAddress address)
    {
        lock (_lock)
        {
            var client = _clients[address];
            client.Running--;
            _running--;
            Registry.Core.Observability.RegistryMetrics.UploadsInFlight.Dec();
            Grant();
            ForgetIfIdle(address, client);
        }
    }

    private bool HasRoom(Client client) =>
        (settings.MaxUploads <= 0 || _running < settings.MaxUploads)
        && (settings.MaxUploadsPerClient <= 0 || client.Running < settings.MaxUploadsPerClient);

    private void Start(Client client)
    {
        client.Running++;
        _running++;
        Registry.Core.Observability.RegistryMetrics.UploadsInFlight.Inc();
    }

    /// <summary>Hands free slots to waiters, each time to the waiting client with room that runs the fewest uploads.</summary>
    private void Grant()
    {
        while (settings.MaxUploads <= 0 || _running < settings.MaxUploads)
        {
            Client? next = null;
            foreach (var client in _clients.Values)
            {
                if (client.Waiting.Count > 0 && HasRoom(client) && (next is null || Precedes(client, next))) next = client;
            }
            if (next is null) return;
            var waiter = next.Waiting.First!.Value;
            next.Waiting.RemoveFirst();
            Start(next);
            next.LastGrant = ++_grants;
            waiter.SetResult(true);
        }
    }

    /// <summary>Fewest running first; between equals, the one served longest ago (round robin).</summary>
    private static bool Precedes(Client a, Client b) => a.Running < b.Running || a.Running == b.Running && a.LastGrant < b.LastGrant;

    private Client ClientOf(IPAddress address)
    {
        if (!_clients.TryGetValue(address, out var client)) _clients[address] = client = new Client();
        return client;
    }

    /// <summary>The table only holds clients with uploads running or waiting.</summary>
    private void ForgetIfIdle(IPAddress address, Client client)
    {
        if (client.Running == 0 && client.Waiting.Count == 0) _clients.Remove(address);
    }

    private sealed class Client
    {
        public int Running;
        public long LastGrant;
        public readonly LinkedList<TaskCompletionSource<bool>> Waiting = new();
    }
}
