import Foundation
import WardenStore

/// The dashboard's pages, rendered on the server: plain HTML and one stylesheet inline, no
/// external assets, and one small script that reloads the approvals page when the pending set
/// changes. Every value shown is escaped.
enum DashboardHTML {
    /// `text` safe inside HTML text and attribute values.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A whole page: the navigation (for a signed-in `viewer`), `title` and `body`.
    static func page(
        title: String, active: String?, viewer: AdminToken?, notice: String? = nil, body: String, script: String = "", bodyAttributes: String = ""
    ) -> String {
        let links = [("approvals", "Approvals"), ("audit", "Audit log"), ("grants", "Grants"), ("servers", "Servers"), ("pins", "Pins")]
        let navigation =
            viewer.map { viewer in
                let items = links.map { path, label in
                    #"<a href="/admin/\#(path)"\#(path == active ? #" class="active""# : "")>\#(label)</a>"#
                }.joined()
                return #"""
                    <nav>\#(items)<span class="who">\#(escape(viewer.name)) · \#(viewer.role.rawValue)</span>\#
                    <form method="post" action="/admin/logout"><button class="link">Sign out</button></form></nav>
                    """#
            } ?? ""
        let banner = notice.map { #"<p class="notice">\#(escape($0))</p>"# } ?? ""
        return #"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\#(escape(title)) · Warden</title><style>\#(style)</style></head>
            <body\#(bodyAttributes)><header><strong>Warden</strong>\#(navigation)</header><main><h1>\#(escape(title))</h1>\#(banner)\#(body)</main>\#(script)</body></html>
            """#
    }

    static func table(_ header: [String], _ rows: [String], empty: String) -> String {
        guard !rows.isEmpty else { return #"<p class="empty">\#(escape(empty))</p>"# }
        let head = header.map { "<th>\(escape($0))</th>" }.joined()
        return "<table><thead><tr>\(head)</tr></thead><tbody>\(rows.joined())</tbody></table>"
    }

    static func cells(_ values: [String], attributes: String = "") -> String {
        "<tr\(attributes)>" + values.map { "<td>\($0)</td>" }.joined() + "</tr>"
    }

    static func time(_ date: Date) -> String {
        #"<time datetime="\#(date.formatted(.iso8601))">\#(escape(date.formatted(date: .abbreviated, time: .standard)))</time>"#
    }

    /// A decision or status as a coloured badge.
    static func badge(_ text: String) -> String {
        let tone =
            switch text {
            case "allow", "approved": "good"
            case "deny", "hidden", "invalid", "unknown_tool", "denied", "approval_denied": "bad"
            case "approval_required", "pending", "approval": "wait"
            default: text.hasPrefix("shadow_") || text.hasPrefix("approval_") || text == "expired" || text == "cancelled" ? "muted" : "plain"
            }
        return #"<span class="badge \#(tone)">\#(escape(text))</span>"#
    }

    /// Approve and deny buttons for a pending approval, each with an optional reason.
    static func decisionForms(_ approval: Approval) -> String {
        let id = escape(approval.id)
        return #"""
            <div class="decide"><form method="post" action="/admin/approvals/\#(id)/approve">\#
            <input name="reason" placeholder="reason (optional)" aria-label="reason"><button class="approve" data-approval="\#(id)">Approve</button></form>\#
            <form method="post" action="/admin/approvals/\#(id)/deny">\#
            <input name="reason" placeholder="reason (optional)" aria-label="reason"><button class="deny" data-approval="\#(id)">Deny</button></form></div>
            """#
    }

    /// Reloads the page when the set of pending approvals changes (unless someone is typing).
    static let liveApprovals = #"""
        <script>
        (function () {
          var shown = document.body.dataset.pending || "";
          function check() {
            fetch("/admin/api/approvals?status=pending", {credentials: "same-origin"})
              .then(function (r) { return r.ok ? r.json() : null; })
              .then(function (data) {
                if (!data) return;
                var now = data.approvals.map(function (a) { return a.id; }).sort().join(",");
                var typing = document.activeElement && document.activeElement.tagName === "INPUT" && document.activeElement.value;
                if (now !== shown && !typing) location.reload();
              }).catch(function () {});
          }
          // Polled every 2 s; where the store announces changes (PostgreSQL), each one is
          // checked at once and the poll slows to a safety net.
          var poll = setInterval(check, 2000);
          if (window.EventSource) {
            var changes = new EventSource("/admin/api/approvals/changes");
            changes.onopen = function () { clearInterval(poll); poll = setInterval(check, 30000); };
            changes.addEventListener("approval", check);
            changes.onerror = function () { changes.close(); clearInterval(poll); poll = setInterval(check, 2000); };
          }
        })();
        </script>
        """#

    static let style = """
        *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#f5f6f8}\
        header{display:flex;align-items:center;gap:24px;padding:10px 24px;background:#1d2330;color:#fff}\
        header strong{font-size:16px;letter-spacing:.04em}nav{display:flex;align-items:center;gap:4px;flex:1}\
        nav a{color:#c9cfdb;text-decoration:none;padding:6px 10px;border-radius:6px}nav a.active,nav a:hover{background:#323a4d;color:#fff}\
        nav .who{margin-left:auto;color:#9aa3b5;margin-right:8px}nav form{margin:0}\
        main{max-width:1180px;margin:0 auto;padding:20px 24px}h1{font-size:20px;margin:8px 0 16px}h2{font-size:15px;margin:28px 0 10px}\
        table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #e2e5ea;border-radius:8px;overflow:hidden}\
        th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #eef0f3;vertical-align:top}th{background:#fafbfc;font-weight:600;color:#4a5366}\
        tr:last-child td{border-bottom:0}code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}pre{margin:0;white-space:pre-wrap;word-break:break-all}\
        .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}\
        .good{background:#e3f6e8;color:#17692f}.bad{background:#fde7e7;color:#a21d1d}.wait{background:#fff3d6;color:#8a5a00}\
        .muted{background:#eceef2;color:#5b6474}.plain{background:#e8eefc;color:#284a9c}\
        .decide{display:flex;gap:6px;flex-wrap:wrap}.decide form{display:flex;gap:4px;margin:0}\
        input,select{font:inherit;padding:5px 8px;border:1px solid #cdd2da;border-radius:6px;background:#fff}\
        button{font:inherit;padding:5px 12px;border:0;border-radius:6px;cursor:pointer;background:#323a4d;color:#fff}\
        button.approve{background:#1f8a43}button.deny{background:#b42828}button.link{background:none;color:#c9cfdb;padding:6px}\
        .filters{display:flex;gap:8px;flex-wrap:wrap;margin-bottom:14px}.notice{padding:8px 12px;background:#e8eefc;border-radius:6px}\
        .error{padding:8px 12px;background:#fde7e7;color:#a21d1d;border-radius:6px}.empty{color:#6b7385}\
        .login{max-width:420px;background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:20px}.login input{width:100%;margin:8px 0 12px}
        """
}
