"""``cinder-lab web``: watch a request travel, live, in a browser.

Lab-only (Cinder has no such view). A Starlette app served by uvicorn: the
topology as JSON, the routed messages and topology changes as server-sent
events, and a page that draws them with the vendored Cytoscape.js.
"""
