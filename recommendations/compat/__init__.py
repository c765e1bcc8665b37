"""The older Flask recommendation engine's API, kept so its clients can switch without changes.

Paths and shapes (no trailing slash, as Flask served them)::

    GET  /recommend/content/<product_id>?top_k=10                        -> {"source", "results": [item, ...]}
    GET  /recommend/user/<user_id>?top_k=10                              -> {"source", "results": [item, ...]}
    GET  /recommend/hybrid?user_id=&product_id=&top_k=&w_content=&w_cf=  -> {"source", "results": [item, ...]}
    GET  /recommend/ab?user_id=&product_id=&top_k=&experiment=           -> {"variant", "source", "results", "experiment", "request_id"}
    POST /feedback {"user_id", "product_id", "action", "ts"}              -> {"status": "received"}
    GET  /health                                                          -> {"status": "ok"}

``item`` is ``{"product_id": "P001", "title": "...", "score": 0.87}``, best first; ``source`` is
``"cache"`` when the list was read from the cache, else ``"model"``. The lists are the same
selectors, caches and filters as ``/api/recommendations/``: content is "similar", user and
hybrid are the personal list; ``/recommend/ab`` is that user's variant of a real experiment
(the ``experiments`` app), ``variant`` null when none runs.

Differences a client may notice: errors use this API's one shape; an unknown ``user_id`` gets
the cold-start list, not an error; naming a user needs an API token or a staff session (a
visitor may name only their own visitor id); ``/feedback`` from a session needs the CSRF token.
"""
