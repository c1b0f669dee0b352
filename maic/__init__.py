"""MAIC common picture: the domain. This package never imports dash, layouts or callbacks."""
