"""ConvNet Architecture Playground: the Streamlit router (``streamlit run app.py``)."""
import streamlit as st

import playground  # noqa: F401  (sets KERAS_BACKEND before anything imports keras)
from playground.ui.router import route

st.set_page_config(page_title="ConvNet Playground", page_icon=":material/construction:", layout="wide")
# The wide layout keeps 5rem (80 px) either side of every page: at a 1024 px window, beside the
# sidebar, that left 560 px for tables and charts. Windows up to 1280 px get 1.5rem.
st.html("<style>@media (max-width: 1280px) { .stMainBlockContainer "
        "{ padding-left: 1.5rem; padding-right: 1.5rem; } }</style>")

pages = [
    st.Page("pages/build.py", title="Builder", icon=":material/construction:", default=True),
    st.Page("pages/zoo.py", title="Zoo", icon=":material/grid_view:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/cost.py", title="Architecture cost", icon=":material/calculate:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/runs.py", title="Leaderboard", icon=":material/leaderboard:"),
    st.Page("pages/studies.py", title="Studies", icon=":material/science:"),
    st.Page("pages/transfer.py", title="Transfer learning", icon=":material/photo_library:"),
]
nav = st.navigation(pages)
route(nav)
nav.run()
