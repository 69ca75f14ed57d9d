"""The shared pieces of the pages, and the only library package that imports Streamlit.

``board``: the builder's drag-and-drop block board (a custom component, static HTML + JS).
``router``: deep links into a page of the router in ``app.py``.
``run_store``: the app's cached run store and the visible error when it cannot be opened.
``live_runs``: the polling fragment that shows active runs (Train and Transfer pages).
``run_status``: status icons, durations, figures and run labels every run list uses.
``errors``: one way to show a :class:`~playground.errors.SpecError`.
``totals``: the row of cost totals (Builder and Architecture cost pages).
``uploads``: upload widgets that keep the file under the data folder.
``dataset_options``: the widgets of a data set's options (Train page).
``spec_views``: graph, per-layer charts, code and export, conventions tabs of a spec (Builder).
``builder_state``: the Builder's model in the browser session and the callbacks that edit it.
``block_form``: the Builder's parameter form of one block.
``image_sets``: making an image set from uploads, class by class or from a zip (Transfer).
``backbone_picker``: a transfer backbone's label, size, weights and cost (Transfer).
``transfer_results``: a finished transfer run's results and predictions (Transfer).
``measure_view``: measured latency, memory, per-layer time and roofline (Builder, Compare),
latency beside accuracy (Leaderboard), the measured column (Zoo).
``preflight``: the "will it fit" line of a training job (Train).

Everything else (what the widgets' values mean, configs, files, figures) lives in the library
with tests of its own; these modules read widgets and render.
"""
