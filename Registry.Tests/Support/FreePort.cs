using System.Net;
using System.Net.Sockets;

namespace Registry.Tests.Support;

/// <summary>Picks a TCP port on 127.0.0.1 that is free right now.</summary>
/// <remarks>
/// The port is released before the caller binds it, so another process can take it in between;
/// callers that start servers retry with a new port when the bind fails.
/// </remarks>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
