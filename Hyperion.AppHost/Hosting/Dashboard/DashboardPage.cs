using System.Net;

namespace Hyperion.AppHost.Hosting;

/// <summary>The dashboard's two pages: plain HTML and a few lines of script polling the JSON API.</summary>
internal static class DashboardPage
{
    private const string Style = """
        <style>
          body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2328; }
          table { border-collapse: collapse; width: 100%; }
          th, td { text-align: left; padding: .4rem .8rem; border-bottom: 1px solid #d0d7de; font-size: .9rem; }
          th { background: #f6f8fa; }
          .Healthy { color: #1a7f37; font-weight: 600; } .Running, .Starting, .Waiting, .Pending { color: #9a6700; }
          .Unhealthy, .Failed, .Restarting { color: #cf222e; font-weight: 600; } .Stopped, .Stopping { color: #57606a; }
          pre { background: #0d1117; color: #e6edf3; padding: 1rem; overflow-x: auto; font-size: .8rem; }
          .err { color: #ff7b72; } a { color: #0969da; }
        </style>
        """;

    public const string Html = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Hyperion dashboard</title>
        """ + Style + """
        </head><body>
        <h1>Hyperion</h1>
        <table><thead><tr><th>Resource</th><th>Type</th><th>State</th><th>PID</th><th>Restarts</th><th>Last exit</th><th>URLs</th><th>Logs</th></tr></thead>
        <tbody id="rows"></tbody></table>
        <p><small>Refreshes every 2 seconds. JSON: <a href="/api/resources">/api/resources</a></small></p>
        <script>
          const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
          async function refresh() {
            try {
              const resources = await (await fetch('/api/resources')).json();
              document.getElementById('rows').innerHTML = resources.map(r => `<tr>
                <td>${esc(r.name)}</td><td>${esc(r.type)}</td>
                <td class="${esc(r.state)}" title="${esc(r.message)}">${esc(r.state)}${r.message ? ' – ' + esc(r.message) : ''}</td>
                <td>${esc(r.pid)}</td><td>${esc(r.restarts)}</td><td>${esc(r.last_exit_code)}</td>
                <td>${r.urls.map(u => u.startsWith('http') ? `<a href="${esc(u)}">${esc(u)}</a>` : esc(u)).join('<br>')}</td>
                <td>${r.type === 'PostgresDatabase' ? '' : `<a href="/resources/${encodeURIComponent(r.name)}/logs">logs</a>`}</td></tr>`).join('');
            } catch (e) { /* the AppHost is stopping */ }
          }
          refresh(); setInterval(refresh, 2000);
        </script>
        </body></html>
        """;

    public static string LogsHtml(string name) => LogsTemplate
        .Replace("__NAME__", WebUtility.HtmlEncode(name), StringComparison.Ordinal)
        .Replace("__URL__", "/api/resources/" + Uri.EscapeDataString(name) + "/logs?lines=500", StringComparison.Ordinal);

    private const string LogsTemplate = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Hyperion logs</title>
        """ + Style + """
        </head><body>
        <p><a href="/">&larr; resources</a></p>
        <h1>__NAME__</h1>
        <pre id="log"></pre>
        <script>
          const esc = s => String(s ?? '').replace(/[&<>]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
          async function refresh() {
            try {
              const lines = await (await fetch('__URL__')).json();
              const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 20;
              document.getElementById('log').innerHTML = lines.map(l =>
                `<span class="${l.stream === 'stderr' ? 'err' : ''}">${esc(l.timestamp.substring(11, 23))} ${esc(l.text)}</span>`).join('\n');
              if (atBottom) window.scrollTo(0, document.body.scrollHeight);
            } catch (e) { }
          }
          refresh(); setInterval(refresh, 2000);
        </script>
        </body></html>
        """;
}
