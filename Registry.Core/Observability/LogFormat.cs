using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Registry.Core.Configuration;

namespace Registry.Core.Observability;

/// <summary>
/// The console log format (<see cref="ObservabilitySettings.LogFormat"/>): the single-line text format, or one JSON object
/// a line (Microsoft.Extensions.Logging's JSON console formatter) with the message template's fields and the request's
/// scope (its request id), for log shippers that parse JSON.
/// </summary>
public static class LogFormat
{
    public static void AddConsole(ILoggingBuilder logging, ObservabilitySettings settings)
    {
        if (settings.JsonLogs)
            logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        else
            logging.AddSimpleConsole(CoreServices.ConsoleFormat);
    }
}
