"""cinder-lab-api: the Block Storage API v3 subset the note's story needs; mirrors cinder/api/.

``router.create_app()`` builds the ASGI application (Starlette) that
``cinder-lab-api`` serves with uvicorn. The controllers call the same
``volume/api.py`` and ``backup/api.py`` as the in-process client, so the
casts leave from this process, as they leave from cinder-api in Cinder.
"""
