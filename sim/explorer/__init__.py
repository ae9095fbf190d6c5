"""The interactive explorer (Mesa SolaraViz): the page, its views and the policy levers."""
