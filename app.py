"""ConvNet Architecture Playground: the Streamlit router (``streamlit run app.py``)."""
import streamlit as st

import playground  # noqa: F401  (sets KERAS_BACKEND before anything imports keras)

st.set_page_config(page_title="ConvNet Playground", page_icon="🧱", layout="wide")

pages = [
    st.Page("pages/cost.py", title="Architecture cost", icon="📐", default=True),
]
st.navigation(pages).run()
