"""The plugin object py-qgis-wps initialises, its provider and its one algorithm."""

from qgis.core import (
    QgsApplication,
    QgsProcessingAlgorithm,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingProvider,
)


class BufferAlgorithm(QgsProcessingAlgorithm):
    def name(self):
        return "buffer"

    def displayName(self):
        return "Buffer (native:buffer on a server-side path)"

    def createInstance(self):
        return BufferAlgorithm()

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterString("INPUT", "Input layer path"))
        self.addParameter(QgsProcessingParameterNumber(
            "DISTANCE", "Distance", QgsProcessingParameterNumber.Double, 10.0))
        self.addParameter(QgsProcessingParameterNumber(
            "SEGMENTS", "Segments", QgsProcessingParameterNumber.Integer, 5))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", "Buffered", "GeoPackage (*.gpkg)"))

    def processAlgorithm(self, parameters, context, feedback):
        import processing

        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        processing.run("native:buffer", {
            "INPUT": self.parameterAsString(parameters, "INPUT", context),
            "DISTANCE": self.parameterAsDouble(parameters, "DISTANCE", context),
            "SEGMENTS": self.parameterAsInt(parameters, "SEGMENTS", context),
            "OUTPUT": output}, context=context, feedback=feedback, is_child_algorithm=True)
        return {"OUTPUT": output}


class BufferPeerProvider(QgsProcessingProvider):
    def id(self):
        return "bufferpeer"

    def name(self):
        return "Buffer peer"

    def loadAlgorithms(self):
        self.addAlgorithm(BufferAlgorithm())


class BufferPeerPlugin:
    def __init__(self):
        self.provider = None

    def initProcessing(self):
        self.provider = BufferPeerProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        self.initProcessing()

    def unload(self):
        QgsApplication.processingRegistry().removeProvider(self.provider)
