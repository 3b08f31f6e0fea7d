using System.Globalization;

namespace Registry.Core.Configuration;

/// <summary>
/// Where the server listens unless <c>--urls</c> or <c>ASPNETCORE_URLS</c> say otherwise: <c>REGISTRY_HOST</c>
/// (default 0.0.0.0) and <c>REGISTRY_PORT</c> (default 5000), as the original's launcher read them.
/// </summary>
public sealed record ListenAddress(string Host, int Port)
{
    public const string HostVariable = "REGISTRY_HOST";
    public const string PortVariable = "REGISTRY_PORT";

    internal static ListenAddress Read(IReadOnlyDictionary<string, string?> environment, ConfigErrorContext context)
    {
        var host = environment.GetValueOrDefault(HostVariable) is { Length: > 0 } h ? h : "0.0.0.0";
        var portText = environment.GetValueOrDefault(PortVariable) is { Length: > 0 } p ? p : "5000";
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw context.Fail(null, new EnvSource(PortVariable, portText, true), "not a port number (1-65535)");
        return new ListenAddress(host, port);
    }
}
