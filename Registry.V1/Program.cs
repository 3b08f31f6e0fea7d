using Carter;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddCarter();
var app = builder.Build();
app.MapCarter();
app.Run();

/// <summary>Entry point; public so the tests' WebApplicationFactory can host the real app.</summary>
public partial class Program;
