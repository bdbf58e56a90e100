#!/usr/bin/env python3
"""https-serve.py DIR CERT KEY HTTPS_PORT HTTP_PORT LOG -- the package server
of the e2e guest's https provisioning check (tests/e2e/package.sh).

Serves the files of DIR over TLS on 127.0.0.1:HTTPS_PORT with CERT/KEY (a
certificate for "localhost" signed by the run's test CA), and the same files
over plain http on 127.0.0.1:HTTP_PORT.  GET /to-http/NAME on the TLS port
answers 302 to http://localhost:HTTP_PORT/NAME: a client that followed it
would get the file, so a refusal is the client's own.  Every request is
appended to LOG as "SCHEME PATH STATUS" (a failed one as "SCHEME error
WHAT"), so the caller can tell which
requests reached which port.  Runs until killed.
"""
import http.server
import os
import ssl
import sys
import threading


def handler(scheme, root, log, http_port):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=root, **kwargs)

        def setup(self):
            self.request.settimeout(30)
            if scheme == "https":
                self.request.do_handshake()
            super().setup()

        def do_GET(self):
            if scheme == "https" and self.path.startswith("/to-http/"):
                self.send_response(302)
                self.send_header("Location", "http://localhost:%d/%s" % (http_port, self.path[len("/to-http/"):]))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_request(self, code="-", size="-"):
            with open(log, "a") as f:
                f.write("%s %s %s\n" % (scheme, self.path, getattr(code, "value", code)))

        def log_message(self, *args):
            pass

    return Handler


def server(scheme, port, root, log, http_port):
    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            # a refused handshake (the untrusted-CA check): one log line
            with open(log, "a") as f:
                f.write("%s error %s\n" % (scheme, sys.exc_info()[1]))

    return Server(("127.0.0.1", port), handler(scheme, root, log, http_port))


def main():
    root, cert, key, https_port, http_port, log = sys.argv[1:7]
    https_port, http_port = int(https_port), int(http_port)
    plain = server("http", http_port, root, log, http_port)
    tls = server("https", https_port, root, log, http_port)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    # The handshake in the request's own thread, not in accept(): a client
    # that connects and says nothing must not stop the server.
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    with open(log, "a") as f:
        f.write("ready %d\n" % os.getpid())
    tls.serve_forever()


if __name__ == "__main__":
    main()
