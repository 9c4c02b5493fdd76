"""The shapels language server (pygls 2.x): the only package that imports pygls/lsprotocol.

`server.create_server()` builds a server whose features are the modules listed in
`server.FEATURES`, each with `register(server)`; `server.run_stdio()` serves on stdio.
"""
