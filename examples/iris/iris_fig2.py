
from modelbay import Session
from modelbay import Model, List, create_namedtuple

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

#1. load the training and test data
iris = load_iris()
X = iris.data
y = iris.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.33, random_state=42)

#2. define the model and train the model
clf = RandomForestClassifier(random_state=0) #use either existing model or define your own model
clf.fit(X_train, y_train) #train the model

#3. define the Acumos Input and Output Type
Input = create_namedtuple('Input', [(('sepal_length', List[float]),
                                       ('sepal_width', List[float]),
                                       ('petal_length', List[float]),
                                       ('petal_width', List[float]))])
Output = create_namedtuple('Output', [(('IrisType', List[int]))])

def classify_iris(df: Input) -> Output:
    X = np.column_stack(df)
    pred = Output(IrisType = clf.predict(X))
    return pred

#4. upload the model to Acumos
iris_model = Model(classify=classify_iris) #define Acumos model
session = Session() #new an Acumos session
session.push(iris_model, 'iris_model') #upload the model
