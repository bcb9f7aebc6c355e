"""The learning management systems a class hands work in through: their zips of submissions (``collect``)."""
