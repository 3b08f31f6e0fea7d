namespace Registry.Core.Configuration;

/// <summary>A configuration problem that stops start-up; the message names file, flavor, key and variable.</summary>
public sealed class ConfigException(string message) : Exception(message);
