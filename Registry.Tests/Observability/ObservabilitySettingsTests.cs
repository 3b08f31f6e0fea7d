using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Observability;

/// <summary>The metrics and log format keys of config_sample.yml, ours and the Go registry's, and their start-up errors.</summary>
public sealed class ObservabilitySettingsTests : ConfigTestBase
{
    [Test]
    public void Defaults_serve_metrics_on_the_main_port_with_text_logs()
    {
        var o = LoadSample().Observability;

        o.Should().BeEquivalentTo(new ObservabilitySettings { MetricsEnabled = true, MetricsPath = "/metrics", DebugAddress = null, LogFormat = "text" });
    }

    [Test]
    public void Our_keys_are_read()
    {
        var o = LoadSample(("METRICS_ENABLED", "false"), ("METRICS_PATH", "/m"), ("METRICS_ADDR", "127.0.0.1:5001"), ("LOG_FORMAT", "JSON")).Observability;

        o.Should().BeEquivalentTo(new ObservabilitySettings
        {
            MetricsEnabled = false, MetricsPath = "/m", DebugAddress = new ListenAddress("127.0.0.1", 5001), LogFormat = "json",
        });
    }

    [Test]
    public void Go_keys_win_when_set()
    {
        var o = LoadSample(
            ("METRICS_ENABLED", "false"), ("REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED", "true"),
            ("METRICS_PATH", "/m"), ("REGISTRY_HTTP_DEBUG_PROMETHEUS_PATH", "/prom"),
            ("METRICS_ADDR", "127.0.0.1:5001"), ("REGISTRY_HTTP_DEBUG_ADDR", ":5002"),
            ("LOG_FORMAT", "text"), ("REGISTRY_LOG_FORMATTER", "json")).Observability;

        o.Should().BeEquivalentTo(new ObservabilitySettings
        {
            MetricsEnabled = true, MetricsPath = "/prom", DebugAddress = new ListenAddress("0.0.0.0", 5002), LogFormat = "json",
        });
    }

    [Test]
    public void An_ipv6_debug_address_keeps_its_brackets() =>
        LoadSample(("REGISTRY_HTTP_DEBUG_ADDR", "'[::1]:5001'")).Observability.DebugAddress.Should().Be(new ListenAddress("[::1]", 5001));

    [TestCase("REGISTRY_HTTP_DEBUG_ADDR", "localhost", "http.debug.addr", "expected host:port (e.g. 127.0.0.1:5001, or :5001 for every interface), got \"localhost\"")]
    [TestCase("METRICS_ADDR", "127.0.0.1:70000", "metrics.addr", "expected host:port (e.g. 127.0.0.1:5001, or :5001 for every interface), got \"127.0.0.1:70000\"")]
    [TestCase("METRICS_ADDR", "127.0.0.1:5000", "metrics.addr", "the debug listener needs a port of its own; 5000 is the registry's port")]
    [TestCase("METRICS_PATH", "metrics", "metrics.path", "expected an absolute URL path such as /metrics, got \"metrics\"")]
    [TestCase("REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED", "yes please", "http.debug.prometheus.enabled", "expected a boolean (true/false), got the string \"yes please\"")]
    [TestCase("LOG_FORMAT", "xml", "log_format", "expected one of text, json; got \"xml\"")]
    [TestCase("REGISTRY_LOG_FORMATTER", "logstash", "log.formatter", "expected one of text, json; got \"logstash\"")]
    public void Bad_values_stop_start_up_naming_key_and_variable(string variable, string value, string key, string problem)
    {
        var message = FluentActions.Invoking(() => LoadSample((variable, value))).Should().Throw<ConfigException>().Which.Message;

        message.Should().Be(SampleError(key, variable, value, problem));
    }
}
