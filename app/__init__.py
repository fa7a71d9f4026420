"""The reviewer dashboard (Streamlit): ``qaharness app`` serves ``main.py`` from this package."""
