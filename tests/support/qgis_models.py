"""QGIS Processing models and scripts for the tests, made by QGIS itself.

`make_models(folder)` builds the models with QGIS's own model API in a short-lived
QGIS process and writes them as `.model3` files, as QGIS's modeler saves them:
- buffer_dissolve: native:buffer (distance from the caller) then native:dissolve;
- python_calc: native:buffer then qgis:advancedpythonfieldcalculator (withheld: it runs
  caller Python), so the model is withheld;
plus `double.py`, a Processing script (a number in, twice that number out).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BUILD = r'''
import sys
from pathlib import Path
from cloudgeo.wpsnode.qgis_runtime import start_qgis

folder = Path(sys.argv[1])
start_qgis(folder / ".qgis")
from qgis.core import (QgsProcessingModelAlgorithm, QgsProcessingModelChildAlgorithm,
                       QgsProcessingModelChildParameterSource as Source,
                       QgsProcessingModelOutput, QgsProcessingModelParameter,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterNumber,
                       QgsXmlUtils)
from qgis.PyQt.QtXml import QDomDocument


def model(name, second, second_params, title):
    m = QgsProcessingModelAlgorithm(name, "CloudGeo tests")
    m.setHelpContent({"ALG_DESC": title})
    m.addModelParameter(QgsProcessingParameterFeatureSource("input", "Input layer"),
                        QgsProcessingModelParameter("input"))
    m.addModelParameter(QgsProcessingParameterNumber(
        "distance", "Buffer distance", QgsProcessingParameterNumber.Double, 10.0),
        QgsProcessingModelParameter("distance"))
    buffer = QgsProcessingModelChildAlgorithm("native:buffer")
    buffer.setChildId("native:buffer_1")
    buffer.addParameterSources("INPUT", [Source.fromModelParameter("input")])
    buffer.addParameterSources("DISTANCE", [Source.fromModelParameter("distance")])
    buffer.addParameterSources("SEGMENTS", [Source.fromStaticValue(8)])
    buffer.addParameterSources("DISSOLVE", [Source.fromStaticValue(False)])
    m.addChildAlgorithm(buffer)
    child = QgsProcessingModelChildAlgorithm(second)
    child.setChildId("step_2")
    child.addParameterSources("INPUT", [Source.fromChildOutput("native:buffer_1", "OUTPUT")])
    for key, value in second_params.items():
        child.addParameterSources(key, [Source.fromStaticValue(value)])
    output = QgsProcessingModelOutput("result")
    output.setChildId("step_2")
    output.setChildOutputName("OUTPUT")
    child.setModelOutputs({"result": output})
    m.addChildAlgorithm(child)
    m.updateDestinationParameters()
    document = QDomDocument("model")
    document.appendChild(QgsXmlUtils.writeVariant(m.toVariant(), document))
    (folder / f"{name}.model3").write_text(document.toString())


model("buffer_dissolve", "native:dissolve", {}, "Buffers points, then dissolves")
model("python_calc", "qgis:advancedpythonfieldcalculator",
      {"FIELD_NAME": "x", "FORMULA": "value = 1"}, "Calls caller Python")
'''

SCRIPT = '''
from qgis.core import (QgsProcessingAlgorithm, QgsProcessingOutputNumber,
                       QgsProcessingParameterNumber)


class Double(QgsProcessingAlgorithm):
    def name(self):
        return "double"

    def displayName(self):
        return "Double a number"

    def createInstance(self):
        return Double()

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterNumber(
            "VALUE", "A number", QgsProcessingParameterNumber.Double, 1.0))
        self.addOutput(QgsProcessingOutputNumber("DOUBLED", "Twice the number"))

    def processAlgorithm(self, parameters, context, feedback):
        return {"DOUBLED": 2 * self.parameterAsDouble(parameters, "VALUE", context)}
'''


def make_models(folder: Path) -> dict[str, str]:
    """Writes buffer_dissolve.model3, python_calc.model3 and double.py into `folder`;
    name -> text."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run([sys.executable, "-c", BUILD, str(folder)], check=True, env=env,
                   capture_output=True, timeout=300)
    (folder / "double.py").write_text(SCRIPT)
    return {path.name: path.read_text() for path in folder.iterdir() if path.is_file()}
