"""The Faust worker's entry point: `python -m streams.worker worker ...` (what `newsdesk up` runs).

Not `python -m streams.app`: that runs the app module as `__main__`, and the alert modules, which import
`streams.app`, would register their agents on a second copy of the app that never runs. The import stays under
the guard because annotation processes (spawn) import this main module again, and must not build an app.
"""

if __name__ == "__main__":
    from streams.app import main

    main()
