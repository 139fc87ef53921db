import flow_api

def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
    # getting initial_value from the 'initial_value' field of the input_value
    initial_value = inputs['initial_value']

    # doing some (not very) complex calculations
    result = initial_value * 1

    # saving result into the 'result' field of the output_value
    this.set_output(result=result)

    return this.success('all done')
