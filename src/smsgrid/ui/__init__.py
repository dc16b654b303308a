"""smsgrid.ui"""
