"""The web app (`platoons serve`): design, run and compare, share results, and award tenders in the browser.

A client of the public Python API, as thin as the CLI: handlers validate with the CLI's own readers,
queue jobs for the experiment executors, and render the report's sections; no model logic lives here.

- `app`: the ASGI app (FastAPI), access by token, limits, and errors as one line.
- `api`, `pages`: the JSON API (described at /docs) and the pages rendered on the server.
- `jobs`: the queue and the job threads that hand runs to worker processes.
- `store`: saved designs and jobs in DuckDB under the data folder; results as Parquet beside them.
- `scenarios`, `results`, `tender`: scenarios from clients and the editor's fields; result views; the award.
"""
